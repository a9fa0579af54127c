"""The manager's core: settings, lifecycle, and the services ``initialize()`` wires.

Each capability's public methods live in their own mixin module (``project_api.py``, ...);
``CacheManager`` in ``cache_manager.py`` combines them. The mixins reach the services only
through ``_require()``.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from jeex_cache.clock import Clock, SystemClock
from jeex_cache.config import Settings
from jeex_cache.domain.domain_services import (
    CacheHealthService,
    CacheInvalidationService,
    ProjectCacheService,
)
from jeex_cache.domain.tasks import TaskQueueService
from jeex_cache.domain.value_objects import TTL
from jeex_cache.errors import NotInitializedError
from jeex_cache.infrastructure.backend import Backend, open_backend
from jeex_cache.infrastructure.resilience import FailureTracker

__all__ = ["ManagerBase", "Services"]

logger = logging.getLogger("jeex_cache.services")


class Services:
    """What ``initialize()`` builds: the backend and the domain services over it."""

    def __init__(self, backend: Backend, settings: Settings) -> None:
        self.backend = backend
        self.cache = ProjectCacheService(
            backend.project_cache, settings.project_data_ttl, settings.cache_max_payload_bytes
        )
        self.invalidation = CacheInvalidationService(backend.project_cache)
        self.health = CacheHealthService(backend.health, backend.name)
        self.tasks = TaskQueueService(
            backend.tasks,
            TTL(settings.cache_task_status_ttl * 1000),
            settings.cache_max_payload_bytes,
        )


class ManagerBase:
    """Settings, lifecycle (``initialize``/``close``/``async with``) and the failure tracker."""

    def __init__(self, settings: Settings | None = None, *, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock: Clock = clock or SystemClock()
        self._services: Services | None = None
        self.failure_tracker = FailureTracker()
        """Backend failure counts, and whether the latest backend call failed."""

    @property
    def settings(self) -> Settings:
        """The settings in force (read from the environment on first use if none were given)."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    @property
    def clock(self) -> Clock:
        """The clock the in-memory backend and time-based rules read."""
        return self._clock

    @property
    def backend_name(self) -> str:
        """``memory`` or ``redis``."""
        return self._require().backend.name

    async def initialize(self) -> None:
        """Open the backend; idempotent. An unreachable Redis starts the manager degraded."""
        if self._services is not None:
            return
        settings = self.settings
        if settings.cache_debug:
            logging.getLogger("jeex_cache").setLevel(logging.DEBUG)
        backend = await open_backend(settings, self._clock)
        self._services = Services(backend, settings)
        logger.info("cache manager initialised on the %s backend", backend.name)

    async def close(self) -> None:
        """Release the backend's connections; the manager may be initialised again."""
        services, self._services = self._services, None
        if services is not None:
            await services.backend.close()

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _require(self) -> Services:
        services = self._services
        if services is None:
            raise NotInitializedError(
                "the cache manager is not initialised: await cache_manager.initialize() "
                "(or use 'async with CacheManager(...)') first"
            )
        return services
