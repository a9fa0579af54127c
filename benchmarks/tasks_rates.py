"""Benchmark tenant rates: is each project paced to its rate, across worker processes?

    python -m benchmarks.tasks_rates [--rates 50 200 1000] [--workers 4] [--concurrency 16]
                                     [--seconds 10] [--pause-seconds 5] [--json PATH]

One redis-server. Three projects (tenants) paced at ``--rates`` tasks a second (a burst of
1/20 s of its rate), enough no-op tasks of each queued to keep them all saturated, and
``--workers`` worker processes. Phase 1: each project's achieved rate over ``--seconds``,
after a second's warm-up, and its error against its rate (the target: within 5%). Phase 2:
the fastest project's handlers meet an upstream 429 and pause it (``ctx.pause_project``);
the others' rates over ``--pause-seconds`` should not change. Also shown: task scripts run
per task in phase 1 (a worker waiting on a paced queue sleeps until the next project may go,
so this stays near 1). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "rates"
WARM_UP = 1.0  # seconds before phase 1 counts: the bursts are spent, the workers busy
SETTLE = 0.5  # seconds after the pause before phase 2 counts
TOLERANCE = 0.05


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tasks_rates",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--workers", type=int, default=4, help="worker processes (4)")
    parser.add_argument("--concurrency", type=int, default=16, help="slots per worker (16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="phase 1 window (10)")
    parser.add_argument("--pause-seconds", type=float, default=5.0, help="phase 2 window (5)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def _burst(rate: float) -> int:
    return max(1, round(rate / 20))


async def _prepare(url: str, rates: Sequence[float], seconds: float) -> list[str]:
    """Pace one project per rate and queue enough of its tasks for the whole run."""
    projects = [str(uuid4()) for _ in rates]
    async with CacheManager(Settings(redis_url=url, redis_max_connections=72)) as cache:
        for project, rate in zip(projects, rates, strict=True):
            await cache.set_project_rate(QUEUE, project, rate, _burst(rate))
        pending = [
            project
            for project, rate in zip(projects, rates, strict=True)
            for _ in range(math.ceil(rate * seconds * 1.25) + _burst(rate))
        ]

        async def caller() -> None:
            while pending:
                await cache.enqueue_task(QUEUE, "task", project_id=pending.pop())

        await asyncio.gather(*(caller() for _ in range(64)))
    return projects


def _send(procs: Sequence[subprocess.Popen[bytes]], command: str) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(command.encode() + b"\n")
        proc.stdin.flush()


def _scripts(client: redis.Redis) -> int:
    stats: dict[str, Any] = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    """Both phases; the starts counted in each window, by project."""
    total = WARM_UP + args.seconds + SETTLE + args.pause_seconds + 2
    projects = asyncio.run(_prepare(url, args.rates, total))
    paused = projects[max(range(len(projects)), key=lambda i: args.rates[i])]
    command = [sys.executable, "-m", "benchmarks._rates_worker", url, QUEUE,
               str(args.concurrency), paused]  # fmt: skip
    procs = [
        subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(args.workers)
    ]
    client = redis.Redis.from_url(url)
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError("a worker failed to start")
        _send(procs, "go")
        start = time.time()
        time.sleep(WARM_UP)
        client.config_resetstat()
        time.sleep(args.seconds)
        scripts = _scripts(client)
        _send(procs, "pause")
        paused_at = time.time()
        time.sleep(SETTLE + args.pause_seconds)
        _send(procs, "stop")
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        client.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    starts: dict[str, list[float]] = {project: [] for project in projects}
    for output in outputs:
        for project, times in json.loads(output.decode().splitlines()[-1]).items():
            starts.setdefault(project, []).extend(times)
    windows = [
        (start + WARM_UP, start + WARM_UP + args.seconds),
        (paused_at + SETTLE, paused_at + SETTLE + args.pause_seconds),
    ]
    counts = [
        {project: sum(low <= t < high for t in starts[project]) for project in projects}
        for low, high in windows
    ]
    phase_one = sum(counts[0].values())
    return {
        "projects": projects,
        "paused": paused,
        "counts": counts,
        "windows": [high - low for low, high in windows],
        "scripts_per_task": scripts / phase_one if phase_one else None,
    }


def report(args: argparse.Namespace, result: dict[str, Any]) -> list[str]:
    """The results as a Markdown table."""
    lines = [
        f"{args.workers} worker processes x {args.concurrency} slots, "
        f"task scripts per task in phase 1: {result['scripts_per_task']:.2f}",
        "",
        "| phase | tenant | target (tasks/s) | achieved (tasks/s) | error | within 5% |",
        "|---|--:|--:|--:|--:|---|",
    ]
    phases = ("1: all paced", "2: one paused")
    for phase, counts, window in zip(phases, result["counts"], result["windows"], strict=True):
        for project, rate in zip(result["projects"], args.rates, strict=True):
            achieved = counts[project] / window
            if phase.startswith("2") and project == result["paused"]:
                lines.append(f"| {phase} | {rate:g} | paused | {achieved:.1f} | | |")
                continue
            error = (achieved - rate) / rate
            ok = "yes" if abs(error) <= TOLERANCE else "NO"
            lines.append(
                f"| {phase} | {rate:g} | {rate:g} | {achieved:.1f} | {error:+.1%} | {ok} |"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with RedisServer.start() as server:
        result = run(args, server.url)
    print("\n".join(report(args, result)))
    if args.json is not None:
        args.json.write_text(json.dumps({"rates": args.rates, **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
