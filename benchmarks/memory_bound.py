"""The embedded backend's byte bound against real memory, one kind of state at a time.

``python -m benchmarks.memory_bound [--max-bytes 16777216] [--scale 1.0]`` runs each
scenario in a fresh process on the embedded backend bounded at ``--max-bytes``: 100k small
cache writes; 100k writes with 32 tags each; 20k sessions; 20k rate-limit logs; 20k
progress records; 20k tasks (``--scale`` multiplies the counts). Each prints the growth of
the process's resident set over the scenario, the bytes the backend accounts (its memory
report's ``used``), and the writes it refused or evicted. See "Memory bound" in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

from jeex_cache import CacheManager, JeexCacheError, Settings

__all__ = ["main"]

MIB = 1_048_576
TAGS = [f"tag-{j}" for j in range(32)]
SCENARIOS: dict[str, int] = {
    "cache": 100_000,
    "cache+32 tags": 100_000,
    "sessions": 20_000,
    "rate limits": 20_000,
    "progress": 20_000,
    "tasks": 20_000,
}


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096


def _write(manager: CacheManager, scenario: str) -> Callable[[int], Awaitable[bool]]:
    """One write of ``scenario``: True if the backend took it."""

    async def cache(i: int) -> bool:
        return await manager.cache_project_data(uuid4(), {"i": i})

    async def tagged(i: int) -> bool:
        return await manager.cache_project_data(uuid4(), {"i": i}, tags=TAGS)

    async def session(i: int) -> bool:
        return await manager.create_user_session(uuid4(), {"i": i}, [uuid4()]) is not None

    async def rate_limit(i: int) -> bool:
        return "error" not in await manager.check_rate_limit(f"client-{i}", "user")

    async def progress(i: int) -> bool:
        started = await manager.start_progress_tracking(f"op-{i}", 10, "starting")
        return started.outcome.value == "applied"

    async def task(i: int) -> bool:
        await manager.enqueue_task("bench", "noop", {"i": i})
        return True

    writes = {
        "cache": cache,
        "cache+32 tags": tagged,
        "sessions": session,
        "rate limits": rate_limit,
        "progress": progress,
        "tasks": task,
    }
    return writes[scenario]


async def _run(scenario: str, count: int, max_bytes: int) -> dict[str, Any]:
    settings = Settings(redis_url=None, cache_memory_max_bytes=max_bytes)
    async with CacheManager(settings) as manager:
        write = _write(manager, scenario)
        for i in range(200):  # warm up: the metrics buffers, caches of the code paths
            await write(-1 - i)
        gc.collect()
        before = await manager.get_performance_metrics()
        used_before = before["backend"]["memory"]["used"]
        rss_before = _rss()
        refused = 0
        for i in range(count):
            try:
                taken = await write(i)
            except JeexCacheError:
                taken = False
            refused += not taken
        gc.collect()
        rss_after = _rss()
        memory = (await manager.get_performance_metrics())["backend"]["memory"]
    return {
        "scenario": scenario,
        "writes": count,
        "rss_growth": rss_after - rss_before,
        "accounted": memory["used"] - used_before,
        "used": memory["used"],
        "refused": refused,
        "refusals": memory.get("refusals", "-"),
        "evictions": memory.get("evictions", "-"),
    }


def _table(rows: list[dict[str, Any]], max_bytes: int) -> str:
    lines = [
        f"bound {max_bytes / MIB:.1f} MiB",
        "",
        "| state | writes | RSS growth MiB | accounted MiB (growth) | used MiB | refused "
        "| refusals counted | evictions |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['scenario']} | {row['writes']:,} | {row['rss_growth'] / MIB:.1f} "
            f"| {row['accounted'] / MIB:.1f} | {row['used'] / MIB:.1f} | {row['refused']:,} "
            f"| {row['refusals']} | {row['evictions']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-bytes", type=int, default=16 * MIB)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--scenario", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario is not None:  # the child: one scenario, its figures as JSON
        count = int(SCENARIOS[args.scenario] * args.scale)
        print(json.dumps(asyncio.run(_run(args.scenario, count, args.max_bytes))))
        return
    rows = []
    for scenario in SCENARIOS:
        command = [sys.executable, "-m", "benchmarks.memory_bound", "--scenario", scenario]
        command += ["--max-bytes", str(args.max_bytes), "--scale", str(args.scale)]
        child = subprocess.run(command, check=True, capture_output=True, text=True)
        rows.append(json.loads(child.stdout.splitlines()[-1]))
    print(_table(rows, args.max_bytes))


if __name__ == "__main__":
    main()
