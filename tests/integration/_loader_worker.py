"""A separate process for the cross-process loader tests: ``python -m
tests.integration._loader_worker <redis url> <project id> <mode> [lease seconds]``.

``stampede``: on ``test:go``, 100 concurrent ``get_or_load_project_data``; prints the values.
``hold``: loads, telling ``test:loading``, and never finishes (to be SIGKILLed).
``slow``: a 3 s load (longer than its lease, which must be extended); prints the value.
``fail``: loads, telling ``test:loading``, and raises once ``test:release`` is pushed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import redis.asyncio as aioredis

from jeex_cache import CacheManager, Settings


async def main(url: str, project: str, mode: str, lease: float) -> None:
    raw = aioredis.Redis.from_url(url)
    settings = Settings(redis_url=url, cache_loader_lease_seconds=lease)
    async with CacheManager(settings) as cache:

        async def load() -> dict[str, Any]:
            await raw.incr("test:loads")
            await raw.rpush("test:loading", os.getpid())
            if mode == "hold":
                await asyncio.sleep(3_600)
            if mode == "fail":
                await raw.blpop(["test:release"], 60)
                raise RuntimeError("the database is down")
            await asyncio.sleep(3.0 if mode == "slow" else 0.3)
            return {"by": os.getpid()}

        if mode == "stampede":
            await raw.rpush("test:ready", os.getpid())
            while not await raw.exists("test:go"):  # noqa: ASYNC110 - the harness starts us
                await asyncio.sleep(0.01)
            calls = (cache.get_or_load_project_data(project, load, 60) for _ in range(100))
            values = await asyncio.gather(*calls)
        else:
            values = [await cache.get_or_load_project_data(project, load, 60)]
        print(json.dumps(values))
    await raw.aclose()


if __name__ == "__main__":
    url, project, mode, *rest = sys.argv[1:]
    asyncio.run(main(url, project, mode, float(rest[0]) if rest else 10.0))
