"""The Redis backend: the connection each capability's Redis repository runs on."""

from __future__ import annotations

import logging

from jeex_cache.backends import Backend
from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock
from jeex_cache.core.connect import create_client, create_transport
from jeex_cache.core.errors import BackendError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.replication import replication_for
from jeex_cache.core.scripts import loaded

__all__ = ["open_redis_backend"]

logger = logging.getLogger("jeex_cache.redis")


async def open_redis_backend(settings: Settings, clock: Clock) -> Backend:
    """Connect to ``settings.redis_url`` and load the scripts (``backends.SCHEMES``: ``redis``,
    ``rediss``, ``unix``, ``redis+sentinel``/``rediss+sentinel`` with a ``SentinelRouter`` and
    ``redis+cluster``/``rediss+cluster`` with a ``ClusterRouter``). ``clock`` is unused: Redis
    reads its own.

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
