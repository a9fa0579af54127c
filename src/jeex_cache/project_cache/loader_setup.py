"""How the loaders are built on each backend (``wiring.py`` calls ``build_loader``): their
``LoadStore`` beside the project cache's repository, their service over it."""

from __future__ import annotations

from jeex_cache.backends import Backend
from jeex_cache.core.connect import create_client
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.project_cache.lease import LoadStore
from jeex_cache.project_cache.lease_memory import MemoryLoadStore
from jeex_cache.project_cache.lease_redis import RedisLoadStore
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.loader_steps import LoadSteps
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.project_cache.repository import ProjectCacheRepository
from jeex_cache.project_cache.service import ProjectCacheService

__all__ = ["build_loader"]


def _store(repository: ProjectCacheRepository, backend: Backend) -> LoadStore:
    shared = backend.executor
    if shared is None:
        assert isinstance(repository, MemoryProjectCacheRepository)
        return MemoryLoadStore(repository)
    settings = backend.settings
    # The lease waits block: a pool of their own, whose socket timeout covers one wait.
    longest = settings.cache_loader_lease_seconds + settings.redis_socket_timeout + 1
    client = create_client(settings, socket_timeout=longest)
    # On a cluster a wait's BLPOP goes to its key's node: per-node clients of that timeout.
    router = shared.router if shared.sharded else None
    waits = RedisExecutor(
        client,
        settings.cache_namespace,
        breaker=shared.breaker,
        router=router,
        dedicated_timeout=longest,
    )
    backend.on_close(client.aclose)
    return RedisLoadStore(shared, waits)


def build_loader(
    repository: ProjectCacheRepository,
    cache: ProjectCacheService,
    backend: Backend,
    runtime: OperationRuntime,
) -> LoaderService:
    """The loaders over ``repository``'s backend, writing through ``cache``."""
    settings = backend.settings
    service = LoaderService(
        LoadSteps(_store(repository, backend), cache, runtime),
        backend.clock,
        settings.project_data_ttl,
        settings.cache_loader_lease_seconds,
        settings.cache_xfetch_beta,
    )
    backend.on_close(service.close)
    return service
