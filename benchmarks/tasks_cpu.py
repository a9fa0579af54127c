"""Redis CPU per task: every task script's time summed (``INFO commandstats``), over tasks.

    python -m benchmarks.tasks_cpu [--tasks 5000] [--projects 1 100] [--concurrency 32]

One redis-server; for each number of projects, ``--tasks`` no-op tasks are enqueued (spread
over the projects), the server's statistics reset, and one in-process burst worker runs
them all. The figure is the server's own CPU time in scripts (EVALSHA and EVAL), so it does
not depend on how loaded the client machine is.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from jeex_cache import CacheManager, Settings, TaskContext, Worker
from jeex_cache.testing import RedisServer

__all__ = ["main"]

QUEUE = "cpu"


async def _noop(ctx: TaskContext, payload: Any) -> None:
    return None


def _script_usec(url: str) -> tuple[int, int]:
    """(microseconds, calls) of every script the server ran since its last reset."""
    stats = redis.Redis.from_url(url).info("commandstats")
    usec = calls = 0
    for name in ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_fcall"):
        if name in stats:
            usec += int(stats[name]["usec"])
            calls += int(stats[name]["calls"])
    return usec, calls


async def _measure(url: str, tasks: int, projects: int, concurrency: int) -> dict[str, float]:
    owners = [uuid4() for _ in range(projects)]
    async with CacheManager(Settings(redis_url=url)) as cache:
        await cache.task_queue.stats(QUEUE)  # scripts loaded before the reset
        for n in range(tasks):
            await cache.enqueue_task(QUEUE, "noop", project_id=owners[n % projects])
        redis.Redis.from_url(url).config_resetstat()
        started = time.perf_counter()
        worker = Worker(cache, QUEUE, {"noop": _noop}, concurrency=concurrency, burst=True)
        await worker.run()
        seconds = time.perf_counter() - started
        assert worker.stats.succeeded == tasks, worker.stats
    usec, calls = _script_usec(url)
    return {"usec_per_task": usec / tasks, "scripts_per_task": calls / tasks, "s": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--projects", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    print("| projects | Redis CPU per task (µs) | scripts per task | worker s |")
    print("|--:|--:|--:|--:|")
    for projects in args.projects:
        with RedisServer.start() as server:
            row = asyncio.run(_measure(server.url, args.tasks, projects, args.concurrency))
        print(
            f"| {projects} | {row['usec_per_task']:.1f} | {row['scripts_per_task']:.2f} "
            f"| {row['s']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
