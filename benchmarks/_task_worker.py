"""One worker process of the task benchmark (started by ``benchmarks.tasks``).

    python -m benchmarks._task_worker LIBRARY REDIS_URL CONCURRENCY

Connects, freezes what it made so far out of the garbage collector's sight (``gc.freeze``),
prints ``ready``, waits for a line on stdin (the start signal), works in burst mode until the
queue is empty, then prints ``done <tasks run>``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._task_peers import run_worker


async def _ready() -> None:
    # What the process made to start (modules, clients) lives as long as it does: out of the
    # collector's sight, as a long-running worker process keeps it, so that neither the run's
    # full collections nor the interpreter's teardown walk it (the same for every library).
    gc.freeze()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def main(argv: list[str]) -> int:
    """Run one burst worker of ``argv[0]`` (a library) on ``argv[1]`` with ``argv[2]`` slots."""
    library, url, concurrency = argv[0], argv[1], int(argv[2])
    logging.basicConfig(level=logging.ERROR)  # arq logs every job at INFO
    done = asyncio.run(run_worker(library, url, concurrency, _ready))
    print(f"done {done}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
