"""``CacheManager``: the facade that combines each capability's methods over one backend.

    async with CacheManager(Settings(redis_url="redis://localhost:6379/0")) as cache:
        await cache.cache_project_data(project_id, {"name": "My Project"})

The module-level ``cache_manager`` reads its settings from the environment when
``initialize()`` is first awaited.
"""

from __future__ import annotations

from typing import Any

from jeex_cache.domain.domain_services import CacheHealthService
from jeex_cache.services.project_api import ProjectCacheAPI
from jeex_cache.services.task_api import TaskQueueAPI

__all__ = ["CacheManager", "cache_manager"]


class CacheManager(ProjectCacheAPI, TaskQueueAPI):
    """Per-project application state over the in-memory backend or Redis.

    Failures of the backend never raise from cache operations: reads miss, writes return
    False, invalidations return 0 (see ``jeex_cache.infrastructure.resilience``). Bad input
    raises a subclass of ``InvalidInputError`` at once. Lifecycle and settings come from
    ``ManagerBase``; each capability's methods from its mixin.
    """

    # -- health ------------------------------------------------------------------------------
    @property
    def health_service(self) -> CacheHealthService:
        """Health probes (``get_memory_usage()``)."""
        return self._require().health

    async def health_check(self) -> dict[str, Any]:
        """``status`` (healthy / unhealthy), backend, ping latency and memory use."""
        return await self._require().health.check()


cache_manager = CacheManager()
"""The process-wide manager of the spec, configured from the environment."""
