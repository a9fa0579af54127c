"""The Redis backend: one module per repository, Lua scripts in ``lua/``."""

from __future__ import annotations

import logging

from jeex_cache.backends import Backend
from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock
from jeex_cache.core.connect import create_client, create_transport
from jeex_cache.core.errors import BackendError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import loaded
from jeex_cache.observability.redis import RedisHealthRepository
from jeex_cache.progress.listener import ProgressListener
from jeex_cache.progress.redis import RedisProgressRepository
from jeex_cache.project_cache.redis import RedisProjectCacheRepository
from jeex_cache.rate_limit.redis import RedisRateLimitRepository
from jeex_cache.sessions.redis import RedisUserSessionRepository
from jeex_cache.tasks.redis import RedisTaskQueueRepository

__all__ = ["open_redis_backend"]

logger = logging.getLogger("jeex_cache.redis")


async def open_redis_backend(settings: Settings, clock: Clock) -> Backend:
    """Connect to ``settings.redis_url`` and load the scripts (``backends.SCHEMES``: ``redis``,
    ``rediss``, ``unix``). ``clock`` is unused: Redis reads its own.

    An unreachable server is not fatal: the backend starts degraded (the failure policy
    applies per call), the transport connects on first use and scripts are loaded then.
    """
    router = create_transport(settings)
    client = create_client(settings)  # dedicated connections: blocking, pub/sub, stateful
    breaker = CircuitBreaker(
        settings.circuit_breaker_failure_threshold, settings.circuit_breaker_reset_timeout
    )
    await router.open()
    executor = RedisExecutor(client, settings.cache_namespace, breaker=breaker, router=router)
    try:
        await executor.load(*loaded())  # every script of the repositories imported above
    except BackendError as exc:
        logger.warning("redis is not reachable at start-up; starting degraded: %s", exc)

    listener = ProgressListener(
        client.connection_pool, confirm_timeout=settings.redis_socket_timeout
    )

    async def close() -> None:
        await listener.close()
        await router.close()
        await client.aclose()

    return Backend(
        name="redis",
        project_cache=RedisProjectCacheRepository(executor),
        sessions=RedisUserSessionRepository(executor),
        health=RedisHealthRepository(executor),
        progress=RedisProgressRepository(executor, listener, settings.cache_progress_max_events),
        close=close,
        rate_limit=RedisRateLimitRepository(executor),
        tasks=RedisTaskQueueRepository(executor, settings),
        breaker=breaker,
        pool=lambda: {"in_use": executor.in_flight, "max": executor.max_in_flight},
    )
