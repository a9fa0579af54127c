"""Benchmark the task queue's fairness: what turns per project cost, and what they buy.

    python -m benchmarks.tasks_fairness [--tasks 20000] [--tenants 100] [--bulk 10000]
                                        [--concurrency 32] [--json PATH]

1. Claim cost: ``--tasks`` no-op tasks spread over ``--tenants`` projects (turns taken)
   against the same tasks without a project (one group: the plain queue, FIFO by age), each
   processed by one worker at ``--concurrency``; wall time and Redis CPU per claim script
   (``INFO commandstats``).
2. Latency: a small tenant's task enqueued behind ``--bulk`` tasks of a bulk tenant, with a
   worker running, against the same task behind the same bulk without projects (FIFO).

One redis-server, one process (the worker is a coroutine of the runner). See
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from jeex_cache import CacheManager, Settings, TaskContext, Worker
from jeex_cache.testing import RedisServer

__all__ = ["main"]

QUEUE = "fair"


async def _noop(ctx: TaskContext, payload: Any) -> None:
    return None


def _script_usec(client: redis.Redis) -> tuple[int, int]:
    """Calls and total µs of EVALSHA so far."""
    stats: dict[str, Any] = client.info("commandstats")
    row = stats.get("cmdstat_evalsha", {})
    return int(row.get("calls", 0)), int(row.get("usec", 0))


async def _enqueue(cache: CacheManager, projects: list[str | None], callers: int = 64) -> None:
    pending = list(projects)

    async def caller() -> None:
        while pending:
            project = pending.pop()
            await cache.enqueue_task(QUEUE, "noop", None, project_id=project)

    await asyncio.gather(*(caller() for _ in range(callers)))


async def claim_cost(
    url: str, tasks: int, tenants: int, concurrency: int, fair: bool
) -> dict[str, float]:
    """Process ``tasks`` (spread over ``tenants`` or none); seconds and µs per claim."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings = Settings(redis_url=url, redis_max_connections=concurrency + 8)
    async with CacheManager(settings) as cache:
        ids = [str(uuid4()) for _ in range(tenants)]
        await _enqueue(cache, [ids[n % tenants] if fair else None for n in range(tasks)])
        client.config_resetstat()
        worker = Worker(cache, QUEUE, {"noop": _noop}, concurrency=concurrency, burst=True)
        started = time.perf_counter()
        await worker.run()
        elapsed = time.perf_counter() - started
    calls, usec = _script_usec(client)
    client.close()
    return {"seconds": elapsed, "tasks_per_s": tasks / elapsed, "usec_per_claim": usec / calls}


async def small_tenant_latency(url: str, bulk: int, concurrency: int, fair: bool) -> float:
    """Seconds from enqueueing one small-tenant task behind ``bulk`` tasks to its end."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings = Settings(redis_url=url, redis_max_connections=concurrency + 8)
    async with CacheManager(settings) as cache:
        big, small = str(uuid4()), str(uuid4())
        await _enqueue(cache, [big if fair else None] * bulk)
        worker = Worker(cache, QUEUE, {"noop": _noop}, concurrency=concurrency)
        running = asyncio.create_task(worker.run())
        await asyncio.sleep(0.2)  # the worker is busy with the bulk
        started = time.perf_counter()
        task_id = await cache.enqueue_task(QUEUE, "noop", None, project_id=small if fair else None)
        await cache.wait_for_task(task_id, timeout=600)
        elapsed = time.perf_counter() - started
        worker.stop()
        await running
    client.close()
    return elapsed


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tasks_fairness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=20_000, help="claim-cost tasks (20000)")
    parser.add_argument("--tenants", type=int, default=100, help="projects (100)")
    parser.add_argument("--bulk", type=int, default=10_000, help="bulk tenant's tasks (10000)")
    parser.add_argument("--concurrency", type=int, default=32, help="worker slots (32)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    return parser.parse_args(argv)


async def _measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for fair in (False, True):
        label = f"{args.tenants} tenants" if fair else "plain (no project)"
        results[f"claim {label}"] = await claim_cost(
            url, args.tasks, args.tenants, args.concurrency, fair
        )
        results[f"latency {'fair' if fair else 'fifo'}"] = await small_tenant_latency(
            url, args.bulk, args.concurrency, fair
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measures on a new redis-server and print a Markdown report."""
    args = parse_args(argv)
    with RedisServer.start() as server:
        results = asyncio.run(_measure(args, server.url))
    plain = results["claim plain (no project)"]
    fair = results[f"claim {args.tenants} tenants"]
    print(f"Claim cost: {args.tasks} no-op tasks, one worker at concurrency {args.concurrency}.")
    print()
    print("| queue | s (tasks/s) | Redis µs per claim script |")
    print("|---|--:|--:|")
    for name, row in (("plain (no project)", plain), (f"{args.tenants} tenants", fair)):
        print(f"| {name} | {row['seconds']:.2f} ({row['tasks_per_s']:,.0f}) | "
              f"{row['usec_per_claim']:.1f} |")  # fmt: skip
    print()
    print(f"Latency of one small tenant's task behind {args.bulk} tasks of a bulk tenant:")
    print()
    print("| queue | seconds to its end |")
    print("|---|--:|")
    print(f"| FIFO (no projects) | {results['latency fifo']:.3f} |")
    print(f"| turns per project | {results['latency fair']:.3f} |")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
