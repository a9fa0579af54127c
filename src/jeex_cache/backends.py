"""A backend is the set of repositories behind one URL; ``open_backend`` picks it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock
from jeex_cache.observability.health import CacheHealthRepository
from jeex_cache.progress.repository import ProgressRepository
from jeex_cache.project_cache.repository import ProjectCacheRepository
from jeex_cache.rate_limit.repository import RateLimitRepository
from jeex_cache.sessions.repository import UserSessionRepository
from jeex_cache.tasks.repository import TaskQueueRepository

__all__ = ["Backend", "open_backend"]


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


async def open_backend(settings: Settings, clock: Clock) -> Backend:
    """The in-process backend when no ``REDIS_URL`` is set (or ``memory://``), else Redis."""
    if settings.backend == "memory":
        from jeex_cache._memory_backend import open_memory_backend

        return open_memory_backend(clock, settings)
    from jeex_cache._redis_backend import open_redis_backend

    return await open_redis_backend(settings)
