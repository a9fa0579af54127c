"""The in-process backend: the embedded default when no ``REDIS_URL`` is set."""

from __future__ import annotations

from jeex_cache.backends import Backend
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock
from jeex_cache.observability.memory import MemoryHealthRepository
from jeex_cache.progress.memory import MemoryProgressRepository
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.sessions.memory import MemoryUserSessionRepository
from jeex_cache.tasks.memory import MemoryTaskQueueRepository

__all__ = ["open_memory_backend"]


async def open_memory_backend(settings: Settings, clock: Clock) -> Backend:
    """A fresh, empty in-process backend on ``clock`` (``backends.SCHEMES``: ``memory``)."""
    project_cache = MemoryProjectCacheRepository(clock, settings.cache_memory_max_bytes)

    async def close() -> None:
        return None

    return Backend(
        name="memory",
        project_cache=project_cache,
        sessions=MemoryUserSessionRepository(clock),
        health=MemoryHealthRepository(project_cache.usage),
        progress=MemoryProgressRepository(clock, settings.cache_progress_max_events),
        close=close,
        rate_limit=MemoryRateLimitRepository(clock),
        tasks=MemoryTaskQueueRepository(clock),
        usage=project_cache.usage,
    )
