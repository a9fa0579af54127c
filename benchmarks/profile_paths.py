"""cProfile the hot paths: reads, writes, session validations, progress updates and near hits,
on memory and on a throw-away Redis.

    python -m benchmarks.profile_paths [--calls 5000] [--callers 1] [--top 12]

Each path is warmed, then profiled over ``--calls`` calls from ``--callers`` concurrent
callers on the 1 KB nested document; the top entries by own time are printed. On Redis at one
caller most of the time is the wait for the reply (``epoll.poll``): read the library's rows.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._hot_paths import open_sessions
from benchmarks._payloads import nested_1kb
from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer

__all__ = ["main"]

Op = Callable[[UUID], Awaitable[object]]


async def _profile(label: str, op: Op, projects: list[UUID], calls: int, top: int) -> None:
    async def caller(project: UUID) -> None:
        for _ in range(calls // len(projects)):
            await op(project)

    async def run() -> None:
        await asyncio.gather(*(caller(project) for project in projects))

    await run()  # warm
    profile = cProfile.Profile()
    profile.enable()
    await run()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    print(f"\n== {label}: {calls} calls from {len(projects)} callers")
    print("\n".join(line for line in lines if not line.lstrip().startswith(("Ordered", "List"))))


async def _paths(name: str, cache: CacheManager, args: argparse.Namespace) -> None:
    document = nested_1kb()
    projects = [uuid4() for _ in range(args.callers)]
    for project in projects:
        await cache.cache_project_data(project, document)
    await _profile(
        f"{name} get_project_data", cache.get_project_data, projects, args.calls, args.top
    )

    async def write(project: UUID) -> object:
        return await cache.cache_project_data(project, document)

    await _profile(f"{name} cache_project_data", write, projects, args.calls, args.top)

    sessions = await open_sessions(cache, projects)

    async def validate(project: UUID) -> object:
        return await cache.validate_user_session(sessions[project])

    await _profile(f"{name} validate_user_session", validate, projects, args.calls, args.top)
    for project in projects:
        assert await cache.start_progress_tracking(project, 10 * args.calls)

    async def progress(project: UUID) -> object:
        return await cache.increment_progress(project, "one more")

    await _profile(f"{name} increment_progress", progress, projects, args.calls, args.top)


async def _near_hits(cache: CacheManager, args: argparse.Namespace) -> None:
    project = uuid4()
    await cache.cache_project_data(project, nested_1kb())
    for _ in range(500):  # the near cache serves once its tracking connection is up
        await cache.get_project_data(project)
        if cache.near_cache_stats()["hits"] > 10:
            break
        await asyncio.sleep(0.01)
    projects = [project] * args.callers
    await _profile("redis near hit", cache.get_project_data, projects, args.calls, args.top)


async def _run(url: str, args: argparse.Namespace) -> None:
    async with CacheManager(Settings(redis_url=None)) as memory:
        await _paths("memory", memory, args)
    async with CacheManager(Settings(redis_url=url, redis_max_connections=args.callers)) as cache:
        await _paths("redis", cache, args)
    near = Settings(redis_url=url, near_cache_max_bytes=1 << 24)
    async with CacheManager(near) as cache:
        await _near_hits(cache, args)


def main(argv: list[str] | None = None) -> None:
    """Profile each path and print its top entries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--callers", type=int, default=1)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    with RedisServer.start() as server:
        asyncio.run(_run(server.url, args))


if __name__ == "__main__":
    main()
