"""The in-process backend: the embedded default when no ``REDIS_URL`` is set."""

from __future__ import annotations

import time
from typing import Any

from jeex_cache.backends import Backend
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock
from jeex_cache.progress.memory import MemoryProgressRepository
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.sessions.memory import MemoryUserSessionRepository
from jeex_cache.tasks.memory import MemoryTaskQueueRepository

__all__ = ["MemoryHealthRepository", "open_memory_backend"]


class MemoryHealthRepository:
    """Health of the in-process backend: always reachable; memory is the project cache's
    accounted bytes against its bound, with the entries held and the evictions so far."""

    def __init__(self, project_cache: MemoryProjectCacheRepository) -> None:
        self._project_cache = project_cache

    async def ping(self) -> float:
        started = time.perf_counter()
        return time.perf_counter() - started

    async def memory_info(self) -> dict[str, Any]:
        return dict(self._project_cache.usage())


def open_memory_backend(clock: Clock, settings: Settings | None = None) -> Backend:
    """A fresh, empty in-process backend on ``clock``."""
    settings = settings or Settings(redis_url=None)
    project_cache = MemoryProjectCacheRepository(clock, settings.cache_memory_max_bytes)

    async def close() -> None:
        return None

    return Backend(
        name="memory",
        project_cache=project_cache,
        sessions=MemoryUserSessionRepository(clock),
        health=MemoryHealthRepository(project_cache),
        progress=MemoryProgressRepository(clock, settings.cache_progress_max_events),
        close=close,
        rate_limit=MemoryRateLimitRepository(clock),
        tasks=MemoryTaskQueueRepository(clock),
        usage=project_cache.usage,
    )
