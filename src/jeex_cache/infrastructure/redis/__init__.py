"""The Redis backend: one module per repository, Lua scripts in ``lua/``."""

from __future__ import annotations

import logging

from jeex_cache.config import Settings
from jeex_cache.errors import BackendError
from jeex_cache.infrastructure.backend import Backend
from jeex_cache.infrastructure.redis.connection import RedisExecutor, create_client
from jeex_cache.infrastructure.redis.health import RedisHealthRepository
from jeex_cache.infrastructure.redis.project_cache import SCRIPTS, RedisProjectCacheRepository
from jeex_cache.infrastructure.redis.tasks import SCRIPTS as TASK_SCRIPTS
from jeex_cache.infrastructure.redis.tasks import RedisTaskQueueRepository

__all__ = ["open_redis_backend"]

logger = logging.getLogger("jeex_cache.redis")


async def open_redis_backend(settings: Settings) -> Backend:
    """Connect to ``settings.redis_url`` and load the scripts.

    An unreachable server is not fatal: the backend starts degraded (the failure policy
    applies per call) and scripts are loaded on first use.
    """
    client = create_client(settings)
    executor = RedisExecutor(
        client,
        settings.cache_namespace,
        max_in_flight=settings.redis_max_connections,
        wait_timeout=settings.redis_pool_timeout,
    )
    try:
        await executor.load(*SCRIPTS, *TASK_SCRIPTS)
    except BackendError as exc:
        logger.warning("redis is not reachable at start-up; starting degraded: %s", exc)

    async def close() -> None:
        await client.aclose()

    return Backend(
        name="redis",
        project_cache=RedisProjectCacheRepository(executor),
        health=RedisHealthRepository(executor),
        close=close,
        tasks=RedisTaskQueueRepository(executor, settings),
    )
