"""The client's CPU per operation at 64 callers on Redis: process time, not wall time.

    python -m benchmarks.cpu_per_op [--calls 20000] [--callers 64] [--repeats 3]
                                    [--redis-url URL]

At 64 callers the client's Python work per call bounds throughput, and process time moves
far less than wall time with the machine's load: compare two versions of the library by
running this alternately with each. Prints, per operation on the 1 KB nested document, the
best of ``--repeats`` timed runs (after one warm-up): µs of CPU per call and calls per second.
The ``floor`` rows send a bare GET or SET through the same multiplexed transport (no executor,
no failure policy, no script): what is above them is the library's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from benchmarks._hot_paths import open_sessions
from benchmarks._payloads import nested_1kb
from jeex_cache import CacheManager, Settings
from jeex_cache.core.connect import create_transport
from jeex_cache.core.transport import encode
from jeex_cache.testing import RedisServer

__all__ = ["main"]

Op = Callable[[UUID], Awaitable[object]]


async def _timed(op: Op, projects: list[UUID], calls: int) -> tuple[float, float]:
    """(µs of process time per call, calls per second) of ``calls`` spread over callers."""
    each = calls // len(projects)

    async def caller(project: UUID) -> None:
        for _ in range(each):
            await op(project)

    gc.disable()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(caller(project) for project in projects))
    finally:
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        gc.enable()
    done = each * len(projects)
    return cpu / done * 1e6, done / wall


async def _run(url: str, args: argparse.Namespace) -> None:
    document = nested_1kb()
    settings = Settings(redis_url=url)
    async with CacheManager(settings) as cache:
        projects = [uuid4() for _ in range(args.callers)]
        for project in projects:
            await cache.cache_project_data(project, document)
        sessions = await open_sessions(cache, projects)
        router = create_transport(settings)
        await router.open()
        node = router.route("bench:{raw}:floor")
        get_floor = encode(("GET", "bench:{raw}:floor"))
        set_floor = encode(("SET", "bench:{raw}:floor", orjson.dumps(document), "PX", 60_000))

        async def floor_get(_: UUID) -> object:
            return orjson.loads(await node.execute(get_floor))

        operations: dict[str, Op] = {
            "floor SET": lambda _: node.execute(set_floor),
            "cache_project_data": lambda p: cache.cache_project_data(p, document),
            "write_project_data": lambda p: cache.write_project_data(p, document),
            "floor GET + orjson.loads": floor_get,
            "get_project_data": cache.get_project_data,
            "validate_user_session": lambda p: cache.validate_user_session(sessions[p]),
        }
        for name, op in operations.items():
            await _timed(op, projects, args.calls)  # warm
            runs = [await _timed(op, projects, args.calls) for _ in range(args.repeats)]
            cpu, rate = min(runs)
            print(f"{name}: {cpu:.1f} µs CPU per call, {rate:,.0f} calls/s")
        await router.close()


def main(argv: list[str] | None = None) -> None:
    """Measure each operation and print its CPU per call."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args(argv)
    if args.redis_url is not None:
        asyncio.run(_run(args.redis_url, args))
        return
    with RedisServer.start() as server:
        asyncio.run(_run(server.url, args))


if __name__ == "__main__":
    main()
