"""``CacheHealthRepository`` on Redis: PING round trip and INFO memory."""

from __future__ import annotations

import time
from typing import Any

from jeex_cache.core.executor import RedisExecutor

__all__ = ["RedisHealthRepository"]


class RedisHealthRepository:
    """Health probes against the Redis server."""

    def __init__(self, executor: RedisExecutor) -> None:
        self._redis = executor

    async def ping(self) -> float:
        started = time.perf_counter()
        await self._redis.command("PING")
        return time.perf_counter() - started

    async def memory_info(self) -> dict[str, Any]:
        info = await self._redis.command("INFO", "memory")
        return {"used": int(info.get("used_memory", 0)), "max": int(info.get("maxmemory", 0))}
