"""How the loaders are wired: their ``LoadStore`` on each backend, their service over it."""

from __future__ import annotations

from collections.abc import Callable

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.connect import create_client
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.project_cache.lease import LoadStore
from jeex_cache.project_cache.lease_memory import MemoryLoadStore
from jeex_cache.project_cache.lease_redis import RedisLoadStore
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.loader_steps import LoadSteps
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.project_cache.service import ProjectCacheService
from jeex_cache.project_cache.wiring import PROJECT_CACHE

__all__ = ["LOADER"]


# A store is built with the services (a thunk here): the memory one sits on the project
# cache's repository, which may be built after this capability's turn.
_Store = Callable[[], LoadStore]


def _memory(backend: Backend) -> _Store:
    def build() -> LoadStore:
        repository = backend.repository(PROJECT_CACHE)
        assert isinstance(repository, MemoryProjectCacheRepository)
        return MemoryLoadStore(repository)

    return build


def _redis(backend: Backend) -> _Store:
    shared = backend.executor
    assert shared is not None
    settings = backend.settings
    # The lease waits block: a pool of their own, whose socket timeout covers one wait.
    longest = settings.cache_loader_lease_seconds + settings.redis_socket_timeout + 1
    client = create_client(settings, socket_timeout=longest)
    waits = RedisExecutor(client, settings.cache_namespace, breaker=shared.breaker)
    backend.on_close(client.aclose)
    store = RedisLoadStore(shared, waits)
    return lambda: store


def _service(store: _Store, backend: Backend, runtime: OperationRuntime) -> LoaderService:
    settings = backend.settings
    cache = ProjectCacheService(
        backend.repository(PROJECT_CACHE),
        settings.project_data_ttl,
        settings.cache_max_payload_bytes,
    )
    service = LoaderService(
        LoadSteps(store(), cache, runtime),
        backend.clock,
        settings.project_data_ttl,
        settings.cache_loader_lease_seconds,
        settings.cache_xfetch_beta,
    )
    backend.on_close(service.close)
    return service


LOADER = Capability("project_loader", _memory, _redis, _service)
