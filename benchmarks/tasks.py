"""Benchmark task queues: enqueue, then process, N no-op tasks with 1 and with 10 workers.

    python -m benchmarks.tasks [--tasks 20000] [--workers 1 10] [--concurrency 32]
                               [--callers 64] [--rounds 1] [--quick] [--json PATH]

jeex-cache, raw redis-py doing the same round trips, arq, SAQ, streaQ and taskiq-redis, on
one redis-server in one run (streaQ's published method: 20,000 no-op tasks, 32 in flight per
worker, 1 and 10 workers). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from benchmarks._task_peers import LIBRARIES, available, open_enqueuer
from jeex_cache.testing import RedisServer

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Run:
    """One library's enqueue and processing times with one worker count."""

    library: str
    workers: int
    enqueue_seconds: float
    process_seconds: float
    tasks_run: int


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tasks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, help="tasks per run (default 20000; 500 quick)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 10], help="(1 10)")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="tasks in flight per worker (32)"
    )
    parser.add_argument("--callers", type=int, default=64, help="concurrent enqueuers (64)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per cell, best kept (1)")
    parser.add_argument("--libraries", nargs="+", choices=LIBRARIES, default=list(LIBRARIES))
    parser.add_argument("--quick", action="store_true", help="500 tasks: a smoke test")
    parser.add_argument("--redis-url", help="an empty Redis database instead of a new server")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    args.tasks = args.tasks or (500 if args.quick else 20_000)
    if min(args.tasks, args.concurrency, args.callers, args.rounds, *args.workers) < 1:
        parser.error("--tasks, --workers, --concurrency, --callers and --rounds must be positive")
    return args


async def enqueue(library: str, url: str, tasks: int, callers: int) -> float:
    """Seconds for ``callers`` coroutines to enqueue ``tasks`` no-op tasks together."""
    enqueuer = await open_enqueuer(library, url, callers)
    try:
        await enqueuer.enqueue()  # connect first
        remaining = [tasks - 1]

        async def caller() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                await enqueuer.enqueue()

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        return time.perf_counter() - started
    finally:
        await enqueuer.close()


def process(library: str, url: str, workers: int, concurrency: int) -> tuple[float, int]:
    """Seconds from the start signal until ``workers`` burst workers have emptied the queue
    (each reports ``done`` once its worker has returned and closed its connections; the
    interpreter's teardown after that is not task processing, see ``benchmarks/README.md``)."""
    command = [sys.executable, "-m", "benchmarks._task_worker", library, url, str(concurrency)]
    procs = [
        subprocess.Popen(  # unbuffered: select() sees every line not read yet
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"a {library} worker failed to start")
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        deadline = started + 900
        outputs = [_done_report(proc, deadline) for proc in procs]
        elapsed = time.perf_counter() - started
        for proc in procs:
            proc.communicate(timeout=max(deadline - time.perf_counter(), 1))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return elapsed, sum(outputs)


def _done_report(proc: subprocess.Popen[bytes], deadline: float) -> int:
    """The count in a worker's ``done <tasks run>`` line (0 if it ended without one)."""
    assert proc.stdout is not None
    while select.select([proc.stdout], [], [], max(deadline - time.perf_counter(), 0))[0]:
        line = proc.stdout.readline()
        if not line:
            return 0
        if line.startswith(b"done "):
            return int(line.split()[1])
    raise subprocess.TimeoutExpired(proc.args, 900)


def measure(args: argparse.Namespace, url: str) -> list[Run]:
    """Every library with every worker count, ``--rounds`` times, the order rotated."""
    client = redis.Redis.from_url(url)
    libraries = [name for name in args.libraries if available(name)]
    best: dict[tuple[str, int], Run] = {}
    for round_number in range(args.rounds):
        for workers in args.workers:
            shift = round_number % len(libraries)
            for library in libraries[shift:] + libraries[:shift]:
                client.flushdb()
                enqueued = asyncio.run(enqueue(library, url, args.tasks, args.callers))
                elapsed, done = process(library, url, workers, args.concurrency)
                run = Run(library, workers, enqueued, elapsed, done)
                kept = best.get((library, workers))
                if kept is None or run.process_seconds < kept.process_seconds:
                    best[library, workers] = run
    client.flushdb()
    client.close()
    return [best[name, w] for name in libraries for w in args.workers]


def environment(url: str) -> dict[str, Any]:
    """Versions and machine facts printed next to the numbers."""
    versions = {}
    for package in ("jeex-cache", "redis", "hiredis", "arq", "saq", "streaq", "coredis", "taskiq",
                    "taskiq-redis"):  # fmt: skip
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    with redis.Redis.from_url(url) as client:
        server = str(client.info("server").get("redis_version", "?"))
    return {"python": platform.python_version(), "redis_server": server,
            "cpu_count": os.cpu_count(), "platform": platform.platform(), **versions}  # fmt: skip


def report(runs: Sequence[Run], args: argparse.Namespace, env: dict[str, Any]) -> Iterator[str]:
    """The Markdown report."""
    yield ("Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    yield (f"Run: {args.tasks} no-op tasks per cell, enqueued by {args.callers} concurrent "
           f"callers, then processed by burst-mode worker processes running {args.concurrency} "
           f"task(s) at a time each; best of {args.rounds} round(s).")  # fmt: skip
    missing = [name for name in args.libraries if not available(name)]
    if missing:
        yield f"Skipped (install the bench extra): {', '.join(missing)}."
    yield ""
    head = " | ".join(f"{w} worker{'s' if w > 1 else ''}: s (tasks/s)" for w in args.workers)
    yield f"| library | enqueue: s (tasks/s) | {head} |"
    yield "|---|--:|" + "--:|" * len(args.workers)
    for library in dict.fromkeys(run.library for run in runs):
        cells = {run.workers: run for run in runs if run.library == library}
        enqueue_s = min(run.enqueue_seconds for run in cells.values())
        row = [f"{enqueue_s:.2f} ({args.tasks / enqueue_s:,.0f})"]
        for w in args.workers:
            run = cells[w]
            mark = "" if run.tasks_run == args.tasks else f" ⚠ ran {run.tasks_run}"
            row.append(f"{run.process_seconds:.2f} ({args.tasks / run.process_seconds:,.0f}){mark}")
        name = f"**{library}**" if library == "jeex-cache" else library
        yield f"| {name} | " + " | ".join(row) + " |"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 if jeex-cache lost or repeated a task (peers' counts are shown)."""
    args = parse_args(argv)
    with ExitStack() as stack:
        url = args.redis_url
        if url is None:
            url = stack.enter_context(RedisServer.start()).url
        elif stack.enter_context(redis.Redis.from_url(url)).dbsize():
            print("benchmarks.tasks: --redis-url must name an empty database", file=sys.stderr)
            return 2
        runs = measure(args, url)
        env = environment(url)
    print("\n".join(report(runs, args, env)))
    if args.json is not None:
        data = {"environment": env, "args": vars(args) | {"json": str(args.json)},
                "runs": [asdict(run) for run in runs]}  # fmt: skip
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    ours = [run for run in runs if run.library == "jeex-cache"]
    return 0 if all(run.tasks_run == args.tasks for run in ours) else 1


if __name__ == "__main__":
    sys.exit(main())
