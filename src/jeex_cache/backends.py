"""A backend is the connection behind one URL; ``open_backend`` picks it by scheme.

``SCHEMES`` maps each URL scheme to the opener of its backend, imported on first use: this
module imports no backend, and a new backend is one line here (and its scheme in
``config.BACKEND_SCHEMES``, which a test keeps equal to this table's keys).

A ``Capability`` (each package's ``wiring.py``) says how to build its memory repository, its
Redis repository and its service; ``Backend.build`` builds the repositories of every
capability it is given, so an opener lists none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast, overload, runtime_checkable
from urllib.parse import urlsplit

from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock
from jeex_cache.core.errors import NotInitializedError
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.core.runtime import OperationRuntime

if TYPE_CHECKING:
    from typing import Self

    from jeex_cache.core.executor import RedisExecutor

__all__ = ["SCHEMES", "Backend", "Capability", "Expiring", "Opener", "open_backend"]

RepoT = TypeVar("RepoT")
ServiceT = TypeVar("ServiceT")


@runtime_checkable
class Expiring(Protocol):
    """A repository that keeps expired leftovers until swept (``cleanup_expired_entries``)."""

    async def cleanup_expired(self) -> int: ...


@dataclass(slots=True)
class Backend:
    """One storage connection: what repositories are built on, and how to release it.

    ``executor`` is None on the in-process backend, which has a ``budget`` instead.
    ``repositories`` holds what ``build`` made, by capability name; read one with
    ``repository(capability)``.
    """

    name: str
    clock: Clock
    settings: Settings
    executor: RedisExecutor | None = None
    breaker: CircuitBreaker | None = None
    pool: Callable[[], dict[str, int]] | None = None  # connections in use and the maximum
    usage: Callable[[], dict[str, int]] | None = None  # the embedded store's budget report
    budget: MemoryBudget | None = None  # the embedded store's one byte bound, for every kind
    repositories: dict[str, object] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` on ``close()``, before the closers registered earlier."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Release what was registered, the latest first (the connection itself last)."""
        while self._closers:
            await self._closers.pop()()

    def build(self, capabilities: Iterable[Capability[Any, Any]]) -> Self:
        """Build each capability's repository on this connection (memory or Redis)."""
        for capability in capabilities:
            build = capability.memory if self.executor is None else capability.redis
            self.repositories[capability.name] = build(self)
        return self

    def repository(self, capability: Capability[RepoT, Any]) -> RepoT:
        """The repository ``build`` made for ``capability``."""
        return cast("RepoT", self.repositories[capability.name])


@dataclass(frozen=True, slots=True)
class Capability(Generic[RepoT, ServiceT]):
    """How one capability is wired: its repository on each backend, its service over it.

    Put on a ``CacheManager`` mixin as a class attribute, it is the mixin's typed accessor
    to the service: ``initialize()`` stores the service on the manager under the same name
    (a plain attribute read on every call); before that, or after ``close()``, reading it
    raises ``NotInitializedError``.
    """

    name: str
    memory: Callable[[Backend], RepoT]
    redis: Callable[[Backend], RepoT]
    service: Callable[[RepoT, Backend, OperationRuntime], ServiceT]
    attribute: str = ""

    def __set_name__(self, owner: type, name: str) -> None:
        object.__setattr__(self, "attribute", name)

    @overload
    def __get__(self, instance: None, owner: type) -> Capability[RepoT, ServiceT]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> ServiceT: ...
    def __get__(
        self, instance: object | None, owner: type
    ) -> Capability[RepoT, ServiceT] | ServiceT:
        if instance is None:
            return self
        raise NotInitializedError(
            "the cache manager is not initialised: await cache_manager.initialize() "
            "(or use 'async with CacheManager(...)') first"
        )

    def of(self, target: object) -> ServiceT:
        """The service ``install`` stored on ``target`` (``NotInitializedError`` if none)."""
        try:
            return cast("ServiceT", vars(target)[self.attribute])
        except KeyError:
            return self.__get__(target, type(target))

    def install(self, target: object, backend: Backend, runtime: OperationRuntime) -> None:
        """Build the service over ``backend``'s repository and store it on ``target``."""
        service = self.service(backend.repository(self), backend, runtime)
        vars(target)[self.attribute] = service


Opener = Callable[[Settings, Clock], Awaitable[Backend]]

SCHEMES: Mapping[str, str] = {  # scheme -> "module:function", an ``Opener``
    "memory": "jeex_cache._memory_backend:open_memory_backend",
    "redis": "jeex_cache._redis_backend:open_redis_backend",
    "rediss": "jeex_cache._redis_backend:open_redis_backend",
    "unix": "jeex_cache._redis_backend:open_redis_backend",
    "redis+sentinel": "jeex_cache._redis_backend:open_redis_backend",
    "rediss+sentinel": "jeex_cache._redis_backend:open_redis_backend",
    "redis+cluster": "jeex_cache._redis_backend:open_redis_backend",
    "rediss+cluster": "jeex_cache._redis_backend:open_redis_backend",
}


async def open_backend(
    settings: Settings, clock: Clock, capabilities: Iterable[Capability[Any, Any]] = ()
) -> Backend:
    """The backend of ``REDIS_URL``'s scheme (the in-process one when it is unset), with the
    repositories of ``capabilities`` built on it."""
    scheme = "memory" if settings.redis_url is None else urlsplit(settings.redis_url).scheme
    module, _, function = SCHEMES[scheme].partition(":")
    opener: Opener = getattr(importlib.import_module(module), function)
    return (await opener(settings, clock)).build(capabilities)
