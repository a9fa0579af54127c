"""``CacheManager``: the facade that wires domain services to a backend and delegates.

    async with CacheManager(Settings(redis_url="redis://localhost:6379/0")) as cache:
        await cache.cache_project_data(project_id, {"name": "My Project"})

The module-level ``cache_manager`` reads its settings from the environment when
``initialize()`` is first awaited.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from jeex_cache.clock import Clock, SystemClock
from jeex_cache.config import Settings
from jeex_cache.domain.domain_services import (
    CacheHealthService,
    CacheInvalidationService,
    ProjectCacheService,
    TagLike,
    TTLLike,
)
from jeex_cache.domain.entities import ProjectCache, WriteOutcome, WriteResult
from jeex_cache.domain.identifiers import parse_uuid
from jeex_cache.domain.value_objects import CacheKey
from jeex_cache.errors import NotInitializedError
from jeex_cache.infrastructure.backend import Backend, open_backend
from jeex_cache.infrastructure.resilience import FAILED_WRITE, FailureTracker, Family, guarded
from jeex_cache.services.project_view import ProjectCacheView

__all__ = ["CacheManager", "cache_manager"]

logger = logging.getLogger("jeex_cache.services")


class _Services:
    """What ``initialize()`` builds: the backend and the services over it."""

    def __init__(self, backend: Backend, settings: Settings) -> None:
        self.backend = backend
        self.cache = ProjectCacheService(
            backend.project_cache, settings.project_data_ttl, settings.cache_max_payload_bytes
        )
        self.invalidation = CacheInvalidationService(backend.project_cache)
        self.health = CacheHealthService(backend.health, backend.name)


class CacheManager:
    """Per-project application state over the in-memory backend or Redis.

    Failures of the backend never raise from cache operations: reads miss, writes return
    False, invalidations return 0 (see ``jeex_cache.infrastructure.resilience``). Bad input
    raises a subclass of ``InvalidInputError`` at once.
    """

    def __init__(self, settings: Settings | None = None, *, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock: Clock = clock or SystemClock()
        self._services: _Services | None = None
        self.failure_tracker = FailureTracker()
        """Backend failure counts, and whether the latest backend call failed."""

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The settings in force (read from the environment on first use if none were given)."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

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
        self._services = _Services(backend, settings)
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

    def _require(self) -> _Services:
        services = self._services
        if services is None:
            raise NotInitializedError(
                "the cache manager is not initialised: await cache_manager.initialize() "
                "(or use 'async with CacheManager(...)') first"
            )
        return services

    # -- project data cache ------------------------------------------------------------------
    @guarded(Family.CACHE_WRITE)
    async def cache_project_data(
        self,
        project_id: UUID | str,
        data: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> bool:
        """Cache a project's document; False if refused as stale or the backend failed.

        ``version`` (an int in [0, 2**53)) is refused only when lower than the stored one;
        the same version overwrites, so a retried write is harmless. Without it the stored
        version plus one is written. ``ttl`` defaults to ``CACHE_PROJECT_DATA_TTL``.
        """
        result = await self._require().cache.put(
            project_id, None, data, ttl=ttl, tags=tags, version=version
        )
        return result.outcome is WriteOutcome.STORED

    @guarded(Family.CACHE_WRITE, fallback=lambda: FAILED_WRITE)
    async def write_project_data(
        self,
        project_id: UUID | str,
        data: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> WriteResult:
        """Like ``cache_project_data`` but says why: STORED, STALE (with the newer version)
        or FAILED."""
        return await self._require().cache.put(
            project_id, None, data, ttl=ttl, tags=tags, version=version
        )

    @guarded(Family.CACHE_READ)
    def get_project_data(self, project_id: UUID | str) -> Coroutine[Any, Any, Any]:
        """The cached document, or None on a miss (or while the backend is down)."""
        # Returns the service's coroutine for the guard to await: one frame less per read.
        return self._require().cache.get(project_id)

    @guarded(Family.CACHE_READ)
    async def get_project_entry(self, project_id: UUID | str) -> ProjectCache | None:
        """The cached document with its version, times and access statistics."""
        return await self._require().cache.get_entry(project_id)

    @guarded(Family.CACHE_WRITE)
    async def delete_project_data(self, project_id: UUID | str) -> bool:
        """Remove the project's main document; True if it existed."""
        return await self._require().cache.delete(project_id)

    @guarded(Family.CACHE_INVALIDATE)
    async def invalidate_project_cache(
        self, project_id: UUID | str, reason: str = "unspecified"
    ) -> int:
        """Remove everything cached for a project; return the number of entries removed."""
        return await self._require().invalidation.invalidate_project(project_id, reason)

    @guarded(Family.CACHE_INVALIDATE)
    async def invalidate_by_tag(self, tag: TagLike, reason: str = "tag") -> int:
        """Remove every entry carrying ``tag``, in every project; return the count."""
        return await self._require().invalidation.invalidate_tag(tag, None, reason)

    @guarded(Family.CACHE_READ, fallback=list)
    async def list_project_keys(self, project_id: UUID | str) -> list[str]:
        """The keys (relative to the namespace) of a project's live entries, sorted."""
        pid = parse_uuid(project_id)
        names = await self._require().cache.list_names(pid)
        keys = (
            CacheKey.project_data(pid) if name is None else CacheKey.project_entry(pid, name)
            for name in names
        )
        return sorted(key.value for key in keys)

    def project(self, project_id: UUID | str) -> ProjectCacheView:
        """A key/value view whose every key is confined to ``project_id``."""
        services = self._require()
        return ProjectCacheView(
            project_id, services.cache, services.invalidation, self.failure_tracker
        )

    @asynccontextmanager
    async def get_connection(self, project_id: UUID | str) -> AsyncIterator[ProjectCacheView]:
        """The spec's ``async with ...get_connection(project_id) as client`` form of ``project``."""
        yield self.project(project_id)

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
