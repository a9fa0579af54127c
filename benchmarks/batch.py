"""Batch reads against single reads: ``get_many_project_data`` of 100 projects, against 100
``get_project_data`` awaited one after another and 100 gathered at once.

``python -m benchmarks.batch [--projects 100] [--rounds 200] [--payload all|1kb|100b|100kb]``
starts a throw-away redis-server, caches two thirds of the projects (the rest miss), and
reports per batch of ``--projects`` reads the p50 and p95 wall time and the scripts the server
ran (the batch is one pipeline: one round trip), beside raw redis-py doing the same job (one
MGET, each hit decoded). Once per document of ``benchmarks/_payloads.py``. See "Batch
reads" in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import orjson
import redis
import redis.asyncio as aioredis

from benchmarks._payloads import PAYLOADS
from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer

__all__ = ["main"]


def _scripts(raw: redis.Redis) -> int:
    stats: dict[str, Any] = raw.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def _timed(call: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        start = time.perf_counter_ns()
        await call()
        times.append((time.perf_counter_ns() - start) / 1e6)
        gc.enable()
    return sorted(times)


async def run(url: str, count: int, rounds: int, payload: str) -> None:
    document = PAYLOADS[payload]()
    with redis.Redis.from_url(url) as raw:
        async with CacheManager(Settings(redis_url=url)) as cache:
            client = aioredis.Redis.from_url(url)
            projects: list[UUID] = [uuid4() for _ in range(count)]
            keys = [f"bench:{{raw}}:{project}" for project in projects]
            for project, key in zip(projects[: count * 2 // 3], keys, strict=False):
                await cache.cache_project_data(project, document)
                await client.set(key, orjson.dumps(document))

            async def batch() -> None:
                await cache.get_many_project_data(projects)

            async def sequential() -> None:
                for project in projects:
                    await cache.get_project_data(project)

            async def gathered() -> None:
                await asyncio.gather(*(cache.get_project_data(p) for p in projects))

            async def raw_mget() -> None:
                [orjson.loads(value) for value in await client.mget(keys) if value is not None]

            size = len(orjson.dumps(document))
            print(f"\n## Payload {payload} ({size} bytes)\n")
            print(f"{count} reads per call, {rounds} rounds, one standalone server")
            print(f"{'':34s} {'p50 ms':>8s} {'p95 ms':>8s} {'scripts':>8s}")
            for label, call in (
                (f"get_many_project_data({count})", batch),
                (f"{count} x get_project_data, awaited", sequential),
                (f"{count} x get_project_data, gathered", gathered),
                (f"raw redis-py MGET({count}) + loads", raw_mget),
            ):
                await call()  # warm
                before = _scripts(raw)
                await call()
                scripts = _scripts(raw) - before
                times = await _timed(call, rounds)
                p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
                print(f"{label:34s} {p50:8.2f} {p95:8.2f} {scripts:8d}")
            await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--payload", choices=("all", *PAYLOADS), default="all")
    args = parser.parse_args()
    with RedisServer.start() as server:
        for payload in list(PAYLOADS) if args.payload == "all" else [args.payload]:
            asyncio.run(run(server.url, args.projects, args.rounds, payload))


if __name__ == "__main__":
    main()
