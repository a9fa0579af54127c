"""Health of the in-process backend."""

from __future__ import annotations

import time
from typing import Any

from jeex_cache.project_cache.memory import MemoryProjectCacheRepository

__all__ = ["MemoryHealthRepository"]


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
