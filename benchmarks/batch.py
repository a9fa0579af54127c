"""Batch reads against single reads: ``get_many_project_data`` of 100 projects, against 100
``get_project_data`` awaited one after another and 100 gathered at once.

``python -m benchmarks.batch [--projects 100] [--rounds 200]`` starts a throw-away
redis-server, caches two thirds of the projects (the rest miss), and reports per batch of
``--projects`` reads the p50 and p95 wall time and the scripts the server ran (the batch is
one pipeline: one round trip). See "Batch reads" in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import redis

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


async def run(count: int, rounds: int) -> None:
    with RedisServer.start() as server, redis.Redis.from_url(server.url) as raw:
        async with CacheManager(Settings(redis_url=server.url)) as cache:
            projects: list[UUID] = [uuid4() for _ in range(count)]
            for project in projects[: count * 2 // 3]:
                await cache.cache_project_data(project, {"name": str(project), "n": [1, 2, 3]})

            async def batch() -> None:
                await cache.get_many_project_data(projects)

            async def sequential() -> None:
                for project in projects:
                    await cache.get_project_data(project)

            async def gathered() -> None:
                await asyncio.gather(*(cache.get_project_data(p) for p in projects))

            print(f"{count} reads per call, {rounds} rounds, one standalone server")
            print(f"{'':34s} {'p50 ms':>8s} {'p95 ms':>8s} {'scripts':>8s}")
            for label, call in (
                (f"get_many_project_data({count})", batch),
                (f"{count} x get_project_data, awaited", sequential),
                (f"{count} x get_project_data, gathered", gathered),
            ):
                await call()  # warm
                before = _scripts(raw)
                await call()
                scripts = _scripts(raw) - before
                times = await _timed(call, rounds)
                p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
                print(f"{label:34s} {p50:8.2f} {p95:8.2f} {scripts:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.projects, args.rounds))


if __name__ == "__main__":
    main()
