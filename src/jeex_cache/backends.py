"""A backend is the set of repositories behind one URL; ``open_backend`` picks it by scheme.

``SCHEMES`` maps each URL scheme to the opener of its backend, imported on first use: this
module imports no backend, and a new backend is one line here (and its scheme in
``config.BACKEND_SCHEMES``, which a test keeps equal to this table's keys).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock
from jeex_cache.observability.health import CacheHealthRepository
from jeex_cache.progress.repository import ProgressRepository
from jeex_cache.project_cache.repository import ProjectCacheRepository
from jeex_cache.rate_limit.repository import RateLimitRepository
from jeex_cache.sessions.repository import UserSessionRepository
from jeex_cache.tasks.repository import TaskQueueRepository

__all__ = ["SCHEMES", "Backend", "Opener", "open_backend"]


@dataclass(frozen=True, slots=True)
class Backend:
    """The repositories of one storage backend, and how to release it."""

    name: str
    project_cache: ProjectCacheRepository
    sessions: UserSessionRepository
    health: CacheHealthRepository
    progress: ProgressRepository
    close: Callable[[], Awaitable[None]]
    rate_limit: RateLimitRepository
    tasks: TaskQueueRepository
    breaker: CircuitBreaker | None = None
    pool: Callable[[], dict[str, int]] | None = None  # connections in use and the maximum
    usage: Callable[[], dict[str, int]] | None = None  # the embedded store's bytes, evictions


Opener = Callable[[Settings, Clock], Awaitable[Backend]]

SCHEMES: Mapping[str, str] = {  # scheme -> "module:function", an ``Opener``
    "memory": "jeex_cache._memory_backend:open_memory_backend",
    "redis": "jeex_cache._redis_backend:open_redis_backend",
    "rediss": "jeex_cache._redis_backend:open_redis_backend",
    "unix": "jeex_cache._redis_backend:open_redis_backend",
}


async def open_backend(settings: Settings, clock: Clock) -> Backend:
    """The backend of ``REDIS_URL``'s scheme; the in-process one when it is unset."""
    scheme = "memory" if settings.redis_url is None else urlsplit(settings.redis_url).scheme
    module, _, function = SCHEMES[scheme].partition(":")
    opener: Opener = getattr(importlib.import_module(module), function)
    return await opener(settings, clock)
