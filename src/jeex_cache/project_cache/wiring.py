"""How the project cache is wired: its repository on each backend, its services over it."""

from __future__ import annotations

from dataclasses import dataclass

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.loader_setup import build_loader
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.project_cache.near_repository import near_cached
from jeex_cache.project_cache.redis import RedisProjectCacheRepository
from jeex_cache.project_cache.repository import ProjectCacheRepository
from jeex_cache.project_cache.service import CacheInvalidationService, ProjectCacheService

__all__ = ["PROJECT_CACHE", "ProjectCacheServices"]


@dataclass(frozen=True, slots=True)
class ProjectCacheServices:
    """Reads and writes (``cache``), and invalidation with its audit log (``invalidation``)."""

    cache: ProjectCacheService
    invalidation: CacheInvalidationService
    loader: LoaderService  # get_or_load: single-flight, early refresh, stale values


def _memory(backend: Backend) -> ProjectCacheRepository:
    return MemoryProjectCacheRepository(backend.clock, backend.budget)


def _redis(backend: Backend) -> ProjectCacheRepository:
    assert backend.executor is not None
    repository = RedisProjectCacheRepository(backend.executor)
    if backend.settings.near_cache_max_bytes and backend.executor.router is not None:
        return near_cached(repository, backend)
    return repository


def _service(
    repository: ProjectCacheRepository, backend: Backend, runtime: OperationRuntime
) -> ProjectCacheServices:
    settings = backend.settings
    cache = ProjectCacheService(
        repository, settings.project_data_ttl, settings.cache_max_payload_bytes
    )
    return ProjectCacheServices(
        cache,
        CacheInvalidationService(repository),
        build_loader(repository, cache, backend, runtime),
    )


PROJECT_CACHE = Capability("project_cache", _memory, _redis, _service)
