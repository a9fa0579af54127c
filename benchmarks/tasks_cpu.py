"""Redis CPU per task: every task script's time summed (``INFO commandstats``), over tasks.

    python -m benchmarks.tasks_cpu [--tasks 5000] [--projects 0 100] [--concurrency 32]
                                   [--rounds 1] [--against REF] [--redis-url URL]

One redis-server; for each number of projects (0: the plain queue, tasks without a
project), ``--tasks`` no-op tasks are enqueued (spread over the projects), the server's
statistics reset, and one in-process burst worker runs them all. The figure is the server's
own CPU time in scripts (EVALSHA and EVAL), so it does not depend on how loaded the client
machine is. ``--against REF`` (a git commit, e.g. the main of an earlier round) measures
that commit's library too, on the same server in the same sitting, alternating with this
tree's: its ``src`` is taken with ``git archive`` and run in a child process. With
``--rounds n`` each is measured n times, alternating, and the best round shown (a shared
machine's load only adds time). ``commands per task`` counts the Redis commands the scripts
call, which no load changes.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from jeex_cache import CacheManager, Settings, TaskContext, Worker
from jeex_cache.testing import RedisServer

__all__ = ["main"]

QUEUE = "cpu"
ROOT = Path(__file__).resolve().parent.parent


async def _noop(ctx: TaskContext, payload: Any) -> None:
    return None


_SCRIPTS = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_fcall")
_NOT_IN_SCRIPTS = ("cmdstat_blpop", "cmdstat_info", "cmdstat_config", "cmdstat_hello")


def _script_usec(url: str) -> tuple[int, int, int]:
    """(microseconds, calls) of every script the server ran since its last reset, and the
    commands those scripts called (Redis counts them too)."""
    stats = redis.Redis.from_url(url).info("commandstats")
    usec = calls = inner = 0
    for name, row in stats.items():
        if name in _SCRIPTS:
            usec += int(row["usec"])
            calls += int(row["calls"])
        elif not name.startswith(_NOT_IN_SCRIPTS):
            inner += int(row["calls"])
    return usec, calls, inner


async def _measure(url: str, tasks: int, projects: int, concurrency: int) -> dict[str, float]:
    owners: list[UUID | None] = [uuid4() for _ in range(projects)] or [None]
    redis.Redis.from_url(url).flushdb()
    async with CacheManager(Settings(redis_url=url)) as cache:
        await cache.task_queue.stats(QUEUE)  # scripts loaded before the reset
        for n in range(tasks):
            await cache.enqueue_task(QUEUE, "noop", project_id=owners[n % len(owners)])
        redis.Redis.from_url(url).config_resetstat()
        started = time.perf_counter()
        worker = Worker(cache, QUEUE, {"noop": _noop}, concurrency=concurrency, burst=True)
        await worker.run()
        seconds = time.perf_counter() - started
        assert worker.stats.succeeded == tasks, worker.stats
    usec, calls, inner = _script_usec(url)
    return {
        "usec_per_task": usec / tasks,
        "scripts_per_task": calls / tasks,
        "commands_per_task": inner / tasks,
        "s": seconds,
    }


def _checkout(ref: str, into: str) -> str:
    """``ref``'s ``src`` directory, extracted under ``into``."""
    archive = subprocess.run(
        ["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return os.path.join(into, "src")


def _measure_in(src: str, url: str, args: argparse.Namespace, projects: int) -> dict[str, float]:
    """The measurement run by the library in ``src``, in a child process."""
    command = [sys.executable, "-m", "benchmarks.tasks_cpu", "--redis-url", url, "--row",
               "--tasks", str(args.tasks), "--projects", str(projects),
               "--concurrency", str(args.concurrency)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(ROOT)])}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True, text=True)
    row: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return row


def _line(label: str, projects: int, rows: list[dict[str, float]]) -> str:
    """The best of the rounds: CPU time only grows with the load of a shared machine."""
    name = "plain" if projects == 0 else str(projects)
    row = min(rows, key=lambda row: row["usec_per_task"])
    commands = row.get("commands_per_task")
    return (
        f"| {label} | {name} | {row['usec_per_task']:.1f} | {row['scripts_per_task']:.2f} "
        f"| {'?' if commands is None else f'{commands:.1f}'} | {row['s']:.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--projects", type=int, nargs="+", default=[0, 100])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="alternating; the best shown")
    parser.add_argument("--against", metavar="REF", help="also measure this git commit")
    parser.add_argument("--redis-url", help="a server of yours (flushed!), not a new one")
    parser.add_argument("--row", action="store_true", help=argparse.SUPPRESS)  # a child's
    args = parser.parse_args(argv)
    if args.row:
        row = asyncio.run(_measure(args.redis_url, args.tasks, args.projects[0], args.concurrency))
        print(json.dumps(row))
        return 0
    print("| library | projects | Redis CPU per task (µs) | scripts per task "
          "| commands per task | worker s |")  # fmt: skip
    print("|---|--:|--:|--:|--:|--:|")
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(RedisServer.start()).url
        reference = None
        if args.against:
            reference = _checkout(args.against, stack.enter_context(tempfile.TemporaryDirectory()))
        for projects in args.projects:
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(asyncio.run(_measure(url, args.tasks, projects, args.concurrency)))
                if reference is not None:
                    theirs.append(_measure_in(reference, url, args, projects))
            print(_line("this tree", projects, ours), flush=True)
            if reference is not None:
                print(_line(args.against, projects, theirs), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
