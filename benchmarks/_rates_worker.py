"""One worker process of the rates benchmark (started by ``benchmarks.tasks_rates``).

    python -m benchmarks._rates_worker REDIS_URL QUEUE CONCURRENCY PAUSED_PROJECT

Connects, prints ``ready``, then obeys lines on stdin: ``go`` starts the worker, ``pause``
makes the tasks of PAUSED_PROJECT pause their project (``ctx.pause_project``, as a handler
meeting an upstream 429 would), ``stop`` stops it. Then prints one JSON line: every task's
start time (``time.time()``, comparable across processes) by project.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jeex_cache import CacheManager, Settings, TaskContext, Worker

__all__ = ["main"]

PAUSE_SECONDS = 600.0  # longer than any phase: the project stays paused to the end


async def _line() -> str:
    line: str = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return line.strip()


async def _work(url: str, queue: str, concurrency: int, paused: str) -> dict[str, list[float]]:
    starts: dict[str, list[float]] = {}
    pausing = False

    async def task(ctx: TaskContext, payload: Any) -> None:
        if pausing and ctx.project_id == paused:
            ctx.pause_project(PAUSE_SECONDS)
        starts.setdefault(ctx.project_id or "-", []).append(time.time())

    settings = Settings(redis_url=url, redis_max_connections=concurrency + 8)
    async with CacheManager(settings) as cache:
        worker = Worker(cache, queue, {"task": task}, concurrency=concurrency)
        print("ready", flush=True)
        while await _line() != "go":
            pass
        running = asyncio.create_task(worker.run())
        while (command := await _line()) not in ("stop", ""):
            pausing = pausing or command == "pause"
        worker.stop()
        await running
    return starts


def main(argv: list[str]) -> int:
    """Run one worker of ``argv[1]`` on ``argv[0]`` with ``argv[2]`` slots until ``stop``."""
    url, queue, concurrency, paused = argv[0], argv[1], int(argv[2]), argv[3]
    logging.basicConfig(level=logging.ERROR)  # no warning about AOF on the throwaway server
    starts = asyncio.run(_work(url, queue, concurrency, paused))
    print(json.dumps(starts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
