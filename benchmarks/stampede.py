"""The stampede scenario: 1,000 concurrent readers of one key at its expiry, a 50 ms loader.

    python -m benchmarks.stampede [--readers N] [--loader-ms MS] [--redis-url URL] [--strict]

Each candidate caches the key once, lets it expire, then starts every reader at once. It
reports the loader calls the burst caused and the readers' latency (p50, p99). See
``benchmarks/README.md`` ("Stampede"). cashews and aiocache are the ``bench`` extra; a row
whose library is missing is skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import redis.asyncio as aioredis

from benchmarks._stats import LatencySummary, summarize
from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer

__all__ = ["main"]

TTL = 1.0  # seconds: the key expires this long after the warm-up load
POOL = 100  # redis-py connections of each peer (a blocking pool: callers wait for one)
Read = Callable[[], Awaitable[Any]]


class Loader:
    """The database: ``ms`` per call, counted."""

    def __init__(self, ms: float) -> None:
        self.calls = 0
        self._seconds = ms / 1000

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(self._seconds)
        return {"name": "My Project", "rows": list(range(50))}


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    calls: int
    latency: LatencySummary
    note: str = ""


Opener = Callable[[str, Loader], Any]  # an async context manager yielding a ``Read``


@asynccontextmanager
async def jeex(url: str, loader: Loader, stale_ttl: float | None = None) -> AsyncIterator[Read]:
    project = uuid.uuid4()
    async with CacheManager(Settings(redis_url=url)) as cache:
        await cache.health_check()  # connections open before the clock starts

        def read() -> Awaitable[Any]:
            return cache.get_or_load_project_data(project, loader, TTL, stale_ttl=stale_ttl)

        yield read


@asynccontextmanager
async def jeex_stale(url: str, loader: Loader) -> AsyncIterator[Read]:
    async with jeex(url, loader, stale_ttl=30.0) as read:
        yield read


@asynccontextmanager
async def cache_aside(url: str, loader: Loader) -> AsyncIterator[Read]:
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=POOL)
    client = aioredis.Redis.from_pool(pool)
    key = f"bench:{{aside}}:{uuid.uuid4()}"

    async def read() -> Any:
        cached = await client.get(key)
        if cached is not None:
            return orjson.loads(cached)
        value = await loader()
        await client.set(key, orjson.dumps(value), px=round(TTL * 1000))
        return value

    try:
        yield read
    finally:
        await client.aclose()


@asynccontextmanager
async def cashews_early_locked(url: str, loader: Loader) -> AsyncIterator[Read]:
    from cashews import Cache

    cache = Cache()
    cache.setup(url, max_connections=POOL)
    key = f"bench:cashews:{uuid.uuid4().hex}"

    @cache.early(ttl=TTL, early_ttl=TTL / 2, key=key)
    @cache.locked(ttl=10, key=key, check_interval=0.01)
    async def read() -> Any:
        return await loader()

    try:
        yield read
    finally:
        await cache.close()


@asynccontextmanager
async def aiocache_stampede(url: str, loader: Loader) -> AsyncIterator[Read]:
    from aiocache import Cache, cached_stampede

    parts = urlsplit(url)
    decorator = cached_stampede(
        lease=2, ttl=TTL, cache=Cache.REDIS, endpoint=parts.hostname, port=parts.port,
        key=f"bench:aiocache:{uuid.uuid4().hex}", pool_max_size=POOL,
        connection_pool_class=aioredis.BlockingConnectionPool,
    )  # fmt: skip

    @decorator
    async def read() -> Any:
        return await loader()

    try:
        yield read
    finally:
        await decorator.cache.close()


CANDIDATES: dict[str, tuple[Opener, str]] = {
    "**jeex-cache** `get_or_load_project_data`": (jeex, ""),
    "**jeex-cache**, `stale_ttl=30`": (jeex_stale, "serves the expired value at once"),
    "cashews `early` + `locked`": (cashews_early_locked, ""),
    "aiocache `cached_stampede` (lease 2 s)": (aiocache_stampede, ""),
    "unprotected cache-aside (redis-py)": (cache_aside, ""),
}


async def burst(read: Read, readers: int) -> list[int]:
    """Start ``readers`` reads at once; each one's latency in ns from the common start."""
    gate = asyncio.Event()
    latencies: list[int] = []

    async def one() -> None:
        await gate.wait()
        started = time.perf_counter_ns()
        await read()
        latencies.append(time.perf_counter_ns() - started)

    tasks = [asyncio.create_task(one()) for _ in range(readers)]
    await asyncio.sleep(0)  # every reader waits at the gate
    gate.set()
    await asyncio.gather(*tasks)
    return latencies


async def measure(name: str, opener: Opener, note: str, url: str, args: argparse.Namespace) -> Row:
    loader = Loader(args.loader_ms)
    async with AsyncExitStack() as stack:
        read = await stack.enter_async_context(opener(url, loader))
        await asyncio.gather(*(read() for _ in range(args.readers)))  # warm: pools open
        await asyncio.sleep(TTL + 0.2)  # ... and now expired
        loader.calls = 0
        latencies = await burst(read, args.readers)
        await asyncio.sleep(0.3)  # background loads started by the burst are counted too
    return Row(name, loader.calls, summarize(latencies), note)


def table(rows: Sequence[Row], readers: int, loader_ms: float) -> str:
    lines = [
        f"{readers} concurrent readers at expiry, {loader_ms:g} ms loader:",
        "",
        "| candidate | loader calls | p50 ms | p99 ms | note |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.calls} | {row.latency.p50_us / 1000:.1f} | "
            f"{row.latency.p99_us / 1000:.1f} | {row.note} |"
        )
    return "\n".join(lines)


async def run(url: str, args: argparse.Namespace) -> list[Row]:
    rows = []
    for name, (opener, note) in CANDIDATES.items():
        try:
            rows.append(await measure(name, opener, note, url, args))
        except ImportError as exc:
            print(f"skipped {name}: {exc.name} is not installed (the bench extra)")
        except Exception as exc:  # a peer that breaks under the burst is reported, not fatal
            print(f"{name} failed: {type(exc).__name__}: {exc}")
            rows.append(Row(name, -1, summarize([]), f"failed: {type(exc).__name__}"))
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=1_000)
    parser.add_argument("--loader-ms", type=float, default=50.0)
    parser.add_argument("--redis-url", help="a server of your own (default: start one)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(RedisServer.start()).url
        rows = asyncio.run(run(url, args))
    print(table(rows, args.readers, args.loader_ms))
    ours, peers = rows[0], [row for row in rows[2:] if row.calls >= 0]
    best = min((row.latency.p99_us for row in peers), default=float("inf"))
    one_call = ours.calls == 1
    not_worse = ours.latency.p99_us <= best
    print(
        f"\nTargets: 1 loader call: {'met' if one_call else 'MISSED'} ({ours.calls}); "
        f"p99 not worse than the best peer: {'met' if not_worse else 'MISSED'} "
        f"({ours.latency.p99_us / 1000:.1f} ms against {best / 1000:.1f} ms)"
    )
    return 1 if args.strict and not (one_call and not_worse) else 0


if __name__ == "__main__":
    sys.exit(main())
