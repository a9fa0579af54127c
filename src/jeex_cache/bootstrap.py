"""The composition root: the backend a URL names, every repository and service built on it.

This is the one module that knows every capability. Each capability's service gets what it
needs through its constructor (tasks get the progress capability's ``assign``), and
``CacheManager.initialize()`` stores the services it returns as typed attributes. A new
capability is its package, a field of ``Repositories`` and ``Services``, and its lines here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

from jeex_cache.backends import Backend, backend_kind
from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock
from jeex_cache.core.connect import create_client, create_transport
from jeex_cache.core.errors import BackendError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.core.replication import replication_for
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.scripts import loaded
from jeex_cache.core.ttl import TTL
from jeex_cache.observability.api import Expiring
from jeex_cache.observability.health import CacheHealthRepository, CacheHealthService
from jeex_cache.observability.memory import MemoryHealthRepository
from jeex_cache.observability.redis import RedisHealthRepository
from jeex_cache.progress.listener import Listener, ProgressListener, ShardedListener
from jeex_cache.progress.memory import MemoryProgressRepository
from jeex_cache.progress.redis import RedisProgressRepository
from jeex_cache.progress.repository import ProgressRepository
from jeex_cache.progress.service import ProgressService
from jeex_cache.project_cache.api import ProjectCacheServices
from jeex_cache.project_cache.loader import build_loader
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.project_cache.near_repository import near_cached
from jeex_cache.project_cache.redis import RedisProjectCacheRepository
from jeex_cache.project_cache.repository import ProjectCacheRepository
from jeex_cache.project_cache.service import CacheInvalidationService, ProjectCacheService
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.rate_limit.redis import RedisRateLimitRepository
from jeex_cache.rate_limit.repository import RateLimitRepository
from jeex_cache.rate_limit.service import RateLimitingService
from jeex_cache.sessions.memory import MemoryUserSessionRepository
from jeex_cache.sessions.redis import RedisUserSessionRepository
from jeex_cache.sessions.repository import UserSessionRepository
from jeex_cache.sessions.service import SessionManagementService
from jeex_cache.tasks.api import TaskQueueSetup
from jeex_cache.tasks.memory import MemoryTaskQueueRepository
from jeex_cache.tasks.redis import RedisTaskQueueRepository
from jeex_cache.tasks.repository import TaskQueueRepository
from jeex_cache.tasks.service import TaskQueueService

__all__ = ["Repositories", "Services", "bootstrap", "open_backend"]

logger = logging.getLogger("jeex_cache.redis")


@dataclass(frozen=True, slots=True)
class Repositories:
    """Each capability's repository on one backend (the names are ``Backend.repositories``')."""

    project_cache: ProjectCacheRepository
    sessions: UserSessionRepository
    rate_limit: RateLimitRepository
    progress: ProgressRepository
    tasks: TaskQueueRepository
    health: CacheHealthRepository


@dataclass(frozen=True, slots=True)
class Services:
    """What ``CacheManager.initialize()`` stores: each capability's service."""

    project: ProjectCacheServices
    sessions: SessionManagementService
    rate_limits: RateLimitingService
    progress: ProgressService
    tasks: TaskQueueService
    task_setup: TaskQueueSetup
    health: CacheHealthService
    expiring: tuple[Expiring, ...]  # the repositories ``cleanup_expired_entries`` sweeps


async def bootstrap(
    settings: Settings, clock: Clock, runtime: OperationRuntime
) -> tuple[Backend, Services]:
    """Open the backend ``settings.redis_url`` names and build every service on it."""
    backend = await open_backend(settings, clock)
    if backend.executor is None:
        repositories = memory_repositories(backend)
    else:
        repositories = redis_repositories(backend, backend.executor)
    backend.repositories = {f.name: getattr(repositories, f.name) for f in fields(repositories)}
    return backend, build_services(backend, repositories, runtime)


async def open_backend(settings: Settings, clock: Clock) -> Backend:
    """The backend of ``REDIS_URL``'s scheme (the in-process one when it is unset)."""
    if backend_kind(settings) == "memory":
        budget = MemoryBudget(settings.cache_memory_max_bytes)  # one bound for every kind
        return Backend(
            name="memory", clock=clock, settings=settings, usage=budget.usage, budget=budget
        )
    return await open_redis_backend(settings, clock)


async def open_redis_backend(settings: Settings, clock: Clock) -> Backend:
    """Connect to ``settings.redis_url`` (standalone, ``redis+sentinel`` with a
    ``SentinelRouter``, ``redis+cluster`` with a ``ClusterRouter``) and load the scripts.
    ``clock`` is unused: Redis reads its own.

    An unreachable server is not fatal: the backend starts degraded (the failure policy
    applies per call), the transport connects on first use and scripts are loaded then.
    """
    router = create_transport(settings)
    client = create_client(settings)  # dedicated connections: blocking, pub/sub, stateful
    breaker = CircuitBreaker(
        settings.circuit_breaker_failure_threshold, settings.circuit_breaker_reset_timeout
    )
    await router.open()
    executor = RedisExecutor(
        client,
        settings.cache_namespace,
        breaker=breaker,
        router=router,
        replication=replication_for(settings),  # WAIT on Cluster and Sentinel
    )
    try:
        await executor.load(*loaded())  # every script of the capability modules imported
    except BackendError as exc:
        logger.warning("redis is not reachable at start-up; starting degraded: %s", exc)

    backend = Backend(
        name="redis",
        clock=clock,
        settings=settings,
        executor=executor,
        breaker=breaker,
        pool=lambda: {"in_use": executor.in_flight, "max": executor.max_in_flight},
    )
    backend.on_close(client.aclose)
    backend.on_close(router.close)
    return backend


def memory_repositories(backend: Backend) -> Repositories:
    """Every capability's in-process repository, on ``backend``'s clock."""
    clock, settings, budget = backend.clock, backend.settings, backend.budget
    return Repositories(
        project_cache=MemoryProjectCacheRepository(clock, budget),
        sessions=MemoryUserSessionRepository(clock, budget),
        rate_limit=MemoryRateLimitRepository(clock, budget),
        progress=MemoryProgressRepository(clock, settings.cache_progress_max_events, budget),
        tasks=MemoryTaskQueueRepository(clock, budget),
        health=MemoryHealthRepository(lambda: backend.usage() if backend.usage else {}),
    )


def redis_repositories(backend: Backend, executor: RedisExecutor) -> Repositories:
    """Every capability's Redis repository over ``executor``."""
    settings = backend.settings
    redis_cache = RedisProjectCacheRepository(executor)
    project_cache: ProjectCacheRepository = redis_cache
    if settings.near_cache_max_bytes and executor.router is not None:
        project_cache = near_cached(redis_cache, backend)
    return Repositories(
        project_cache=project_cache,
        sessions=RedisUserSessionRepository(executor),
        rate_limit=RedisRateLimitRepository(executor),
        progress=_redis_progress(backend, executor),
        tasks=RedisTaskQueueRepository(executor, settings),
        health=RedisHealthRepository(executor),
    )


def _redis_progress(backend: Backend, executor: RedisExecutor) -> RedisProgressRepository:
    """Progress on Redis, with its pub/sub listener (closed with the backend)."""
    settings = backend.settings
    listener: Listener
    if executor.sharded:  # a cluster: SSUBSCRIBE on the node that owns each channel's slot
        listener = ShardedListener(
            lambda channel: executor.dedicated_client(channel).connection_pool,
            confirm_timeout=settings.redis_socket_timeout,
            locate=lambda channel: executor.command("EXISTS", channel),
        )
    else:
        listener = ProgressListener(
            executor.client.connection_pool, confirm_timeout=settings.redis_socket_timeout
        )
    backend.on_close(listener.close)
    return RedisProgressRepository(executor, listener, settings.cache_progress_max_events)


def build_services(
    backend: Backend, repositories: Repositories, runtime: OperationRuntime
) -> Services:
    """Every capability's service over its repository, configured from the settings."""
    settings = backend.settings
    cache = ProjectCacheService(
        repositories.project_cache, settings.project_data_ttl, settings.cache_max_payload_bytes
    )
    runtime.peeks = cache.peeks  # no near cache: no read tries to peek
    progress = ProgressService(repositories.progress, settings.progress_ttl)

    def health_evidence() -> dict[str, Any]:
        found = backend.status()
        found["error_rate"] = runtime.telemetry.recent_error_rate(
            settings.cache_health_check_interval
        )
        return found

    return Services(
        project=ProjectCacheServices(
            cache,
            CacheInvalidationService(repositories.project_cache),
            build_loader(repositories.project_cache, cache, backend, runtime),
        ),
        sessions=SessionManagementService(
            repositories.sessions,
            idle_ttl=settings.session_idle_ttl,
            absolute_ttl=settings.session_absolute_ttl,
            max_per_user=settings.cache_max_sessions_per_user,
            max_data_bytes=settings.cache_session_max_data_bytes,
        ),
        rate_limits=RateLimitingService(
            repositories.rate_limit,
            settings.rate_limit_default,
            ipv6_prefix=settings.rate_limit_ipv6_prefix,
            fail_closed=settings.rate_limit_fail_closed,
        ),
        progress=progress,
        tasks=TaskQueueService(
            repositories.tasks,
            TTL(settings.cache_task_status_ttl * 1000),
            settings.cache_max_payload_bytes,
        ),
        task_setup=TaskQueueSetup(
            progress_owners=progress,
            progress_owner_seconds=max(settings.cache_progress_ttl, settings.cache_task_status_ttl),
            max_running=settings.task_max_running_per_project,
        ),
        health=CacheHealthService(repositories.health, backend.name, health_evidence),
        expiring=tuple(r for r in backend.repositories.values() if isinstance(r, Expiring)),
    )
