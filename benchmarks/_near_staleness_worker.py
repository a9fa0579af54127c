"""One side of the two-process near-cache check (``benchmarks/near_staleness.py``).

    python -m benchmarks._near_staleness_worker writer <redis url> <project> <n> <interval s>
    python -m benchmarks._near_staleness_worker reader <redis url> <project> <n> <deadline s>

The writer (no near cache) writes versions 1..n of one project document, ``interval`` apart,
and prints one JSON object: ``{"acks": [[version, wall time acknowledged], ...]}``. The reader
(near cache on) prints ``ready`` once tracking is established, then reads in a loop until it
has seen version n (plus a short tail) or its deadline passes, and prints ``{"reads":
[[started, ended, version], ...], "stats": near_cache_stats()}``. Times are ``time.time()``,
which both processes share.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from jeex_cache import CacheManager, Settings
from jeex_cache.project_cache.near_repository import NearCachedRepository

__all__ = ["reader", "writer"]

TAIL = 0.2  # seconds the reader keeps reading after it has seen the last version
PAUSE = 0.001  # between reads: a hit does not yield, and the pushes need the event loop


async def writer(url: str, project: str, versions: int, interval: float) -> dict[str, Any]:
    """Write versions 1..``versions``; the wall time each write was acknowledged."""
    acks: list[list[float]] = []
    async with CacheManager(Settings(redis_url=url)) as cache:
        for version in range(1, versions + 1):
            result = await cache.write_project_data(project, {"v": version}, version=version)
            acks.append([version, time.time()])
            if not result.stored:
                raise SystemExit(f"version {version} was not stored: {result}")
            await asyncio.sleep(interval)
    return {"acks": acks}


async def reader(url: str, project: str, versions: int, deadline: float) -> dict[str, Any]:
    """Read in a loop through the near cache: when each read started and ended, and what
    version it returned (0 for a miss)."""
    reads: list[list[float]] = []
    settings = Settings(redis_url=url, near_cache_max_bytes=1_000_000)
    async with CacheManager(settings) as cache:
        repository = cache._require().repositories["project_cache"]
        assert isinstance(repository, NearCachedRepository)
        await asyncio.wait_for(repository.tracker.wait_serving(), 10)
        print("ready", flush=True)
        stop = time.monotonic() + deadline
        last_seen: float | None = None
        while time.monotonic() < stop:
            started = time.time()
            document = await cache.get_project_data(project)
            version = 0 if document is None else int(document["v"])
            reads.append([started, time.time(), version])
            if version >= versions and last_seen is None:
                last_seen = time.monotonic()
            if last_seen is not None and time.monotonic() - last_seen > TAIL:
                break
            await asyncio.sleep(PAUSE)
        stats = cache.near_cache_stats()
    return {"reads": reads, "stats": stats}


def main(argv: list[str]) -> None:
    """Run the side named by ``argv[0]`` and print its record as one JSON line."""
    side, url, project, versions, seconds = argv
    run = writer if side == "writer" else reader
    record = asyncio.run(run(url, project, int(versions), float(seconds)))
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
