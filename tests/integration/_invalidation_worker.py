"""A separate process for the cross-process invalidation test: ``python -m
tests.integration._invalidation_worker <redis url> <project id>``. It loads the project's
document: its loader reads the row, tells ``test:loading``, and returns once ``test:release``
is pushed. It prints ``[source, value]`` as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import redis.asyncio as aioredis

from jeex_cache import CacheManager, Settings


async def main(url: str, project: str) -> None:
    raw = aioredis.Redis.from_url(url)
    async with CacheManager(Settings(redis_url=url)) as cache:

        async def load() -> dict[str, Any]:
            row = {"row": "v1"}  # read before the other process's update and invalidation
            await raw.rpush("test:loading", 1)
            await raw.blpop(["test:release"], 60)
            return row

        result = await cache.read_or_load_project_data(project, load, 300)
        print(json.dumps([result.source.value, result.value]))
    await raw.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
