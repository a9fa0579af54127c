"""Benchmark hot-key reads: jeex-cache with its near cache, without it, and raw redis-py.

    python -m benchmarks.near_cache [--samples 20000] [--ops 100000] [--callers 64]
                                    [--rounds 5] [--payload all|1kb|100b|100kb] [--quick]
                                    [--json PATH] [--strict]

Once per document of ``benchmarks/_payloads.py`` (1 KB nested, 100-byte flat, 100 KB), all
candidates read one project document on one throw-away redis-server (started
through ``jeex_cache.testing.RedisServer``), in one run, interleaved round by round
(``benchmarks/_measure.py``). Reference rows: raw redis-py's GET behind ``CLIENT CACHING
yes`` on an OPTIN-tracked connection (what OPTIN adds to each read that reaches Redis), and
``cache_project_data`` with and without a near cache tracking the project prefix (what BCAST
adds to each write). Near hits are measured twice: by default (each hit decodes a copy of its
own) and with ``near_cache_shared_values`` (each hit hands out the one value kept decoded).
Targets, for each: a near hit's p50 <= 3 µs and <= 0.1x a raw redis-py GET's; 64-caller
hot-key throughput >= 20x raw. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import redis.asyncio as aioredis

from benchmarks._candidates import PROJECT_ID
from benchmarks._measure import Call, Candidate, measure_latency, measure_throughput
from benchmarks._payloads import PAYLOADS
from benchmarks._stats import summarize
from jeex_cache import CacheManager, Settings
from jeex_cache.project_cache.near_repository import NearCachedRepository
from jeex_cache.testing import RedisServer

__all__ = ["main"]

RAW_KEY = "bench:{raw}:doc"
OPTIN = "redis-py OPTIN: CLIENT CACHING yes + GET"
HITS = ("jeex-cache, near hit", "jeex-cache, near hit, shared values")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.near_cache", description=__doc__)
    parser.add_argument("--samples", type=int, default=20_000, help="sequential calls each")
    parser.add_argument("--ops", type=int, default=100_000, help="concurrent calls each")
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--payload", choices=("all", *PAYLOADS), default="all")
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.ops, args.rounds = 500, 2_000, 1
    return args


def _ok(call: Any) -> Call:
    async def run() -> bool:
        return await call() is not None

    return run


async def candidates(
    url: str, callers: int, stack: AsyncExitStack, document: Any
) -> list[Candidate]:
    """Every implementation, connected, its key written and (for the near cache) filled."""
    base = Settings(redis_url=url, redis_max_connections=callers)
    plain = await stack.enter_async_context(CacheManager(base))
    await plain.cache_project_data(PROJECT_ID, document)
    near = await _near(stack, base, shared=False)
    shared = await _near(stack, base, shared=True)

    raw = aioredis.Redis.from_url(url, max_connections=callers)
    stack.push_async_callback(raw.aclose)
    await raw.set(RAW_KEY, orjson.dumps(document))

    async def raw_get() -> Any:
        reader: Any = raw  # redis-py types its replies differently across versions
        return orjson.loads(await reader.get(RAW_KEY))

    # OPTIN: tracking on one connection, invalidations redirected to another one.
    sink = aioredis.Redis.from_url(url, single_connection_client=True)
    optin = aioredis.Redis.from_url(url, max_connections=1)  # one connection, pipelines too
    stack.push_async_callback(sink.aclose)
    stack.push_async_callback(optin.aclose)
    sink_id = await sink.client_id()
    tracking: Any = optin  # execute_command is typed in some redis-py versions only
    await tracking.execute_command("CLIENT", "TRACKING", "ON", "OPTIN", "REDIRECT", sink_id)

    async def optin_get() -> Any:
        pipe = optin.pipeline(transaction=False)
        pipe.execute_command("CLIENT", "CACHING", "YES")
        pipe.get(RAW_KEY)
        return orjson.loads((await pipe.execute())[1])

    writes = 0

    async def write(cache: CacheManager) -> bool:
        nonlocal writes
        writes += 1
        return await cache.cache_project_data(uuid_of(1 + writes % WRITTEN_PROJECTS), document)

    def hot(cache: CacheManager) -> Call:
        return _ok(lambda: cache.get_project_data(PROJECT_ID))

    tracked, untracked = "cache_project_data, near cache tracking (BCAST)", "cache_project_data"
    return [
        Candidate("hot read", HITS[0], "ours", hot(near)),
        Candidate("hot read", HITS[1], "ours", hot(shared)),
        Candidate("hot read", "jeex-cache, no near cache", "ours", hot(plain)),
        Candidate("hot read", "raw redis-py GET", "baseline", _ok(raw_get)),
        Candidate("hot read", OPTIN, "reference", _ok(optin_get)),
        Candidate("write", tracked, "reference", lambda: write(near)),
        Candidate("write", untracked, "reference", lambda: write(plain)),
    ]


async def _near(stack: AsyncExitStack, base: Settings, *, shared: bool) -> CacheManager:
    """A manager with a near cache (sharing its values or not), its entry filled."""
    update = {"near_cache_max_bytes": 64 * 1_048_576, "near_cache_shared_values": shared}
    near = await stack.enter_async_context(CacheManager(base.model_copy(update=update)))
    repository = near._require().repositories["project_cache"]
    assert isinstance(repository, NearCachedRepository)
    await asyncio.wait_for(repository.tracker.wait_serving(), 10)
    for _ in range(100):  # the write's own invalidation may race the first reads
        await near.get_project_data(PROJECT_ID)
        if near.near_cache_stats()["entries"]:
            break
        await asyncio.sleep(0.01)
    return near


WRITTEN_PROJECTS = 1024
"""Projects the writes take in turn, never the hot one: 16 times the callers, so that
concurrent writes rarely meet on one key, and a bounded dataset (1,024 copies of the 100 KB
document are 100 MB; a project per write filled the server's memory within a run)."""


def uuid_of(n: int) -> uuid.UUID:
    """The ``n``-th project after the hot one (``n`` >= 1; 0 is the hot one)."""
    return uuid.UUID(int=(PROJECT_ID.int + n) % (1 << 128))


async def benchmark(args: argparse.Namespace, url: str, payload: str) -> dict[str, Any]:
    """Latency at concurrency 1, then throughput from ``args.callers`` callers."""
    async with AsyncExitStack() as stack:
        every = await candidates(url, args.callers, stack, PAYLOADS[payload]())
        latency = await measure_latency(every, args.samples, args.rounds, warmup=200)
        concurrent = [c for c in every if c.implementation != OPTIN]  # it has one connection
        throughput = await measure_throughput(
            concurrent, args.ops, args.rounds, args.callers, warmup=500
        )
    rows: list[dict[str, Any]] = []
    for candidate in every:
        summary = summarize(latency[candidate.key].durations_ns)
        result = throughput.get(candidate.key)
        rows.append({
            "operation": candidate.operation,
            "implementation": candidate.implementation,
            "role": candidate.role,
            "p50_us": summary.p50_us,
            "p99_us": summary.p99_us,
            "ops_per_second": result.ops_per_second if result else None,
            "failures": latency[candidate.key].failures + (result.failures if result else 0),
        })  # fmt: skip
    by_name = {row["implementation"]: row for row in rows}
    raw = by_name["raw redis-py GET"]
    targets = [target for name in HITS for target in _targets(by_name[name], raw, args.callers)]
    return {"payload": payload, "callers": args.callers, "rows": rows, "targets": targets}


def _targets(hit: dict[str, Any], raw: dict[str, Any], callers: int) -> list[dict[str, Any]]:
    """The near-hit targets of one near-hit row, against raw redis-py's GET."""
    name = hit["implementation"].removeprefix("jeex-cache, ")
    return [
        {
            "target": f"{name}: p50 <= 3 µs (value: µs)",
            "value": hit["p50_us"],
            "met": hit["p50_us"] <= 3,
        },
        {
            "target": f"{name}: p50 <= 0.1x raw redis-py GET p50",
            "value": hit["p50_us"] / raw["p50_us"],
            "met": hit["p50_us"] <= 0.1 * raw["p50_us"],
        },
        {
            "target": f"{name}: {callers}-caller hot-key throughput >= 20x raw",
            "value": hit["ops_per_second"] / raw["ops_per_second"],
            "met": hit["ops_per_second"] >= 20 * raw["ops_per_second"],
        },
    ]


def report(results: dict[str, Any]) -> list[str]:
    """The results as Markdown tables."""
    lines = [
        f"## Payload {results['payload']}",
        "",
        f"| operation | implementation | p50 µs | p99 µs | ops/s ({results['callers']} callers) |",
        "|---|---|---:|---:|---:|",
    ]
    for row in results["rows"]:
        ops = "-" if row["ops_per_second"] is None else f"{row['ops_per_second']:,.0f}"
        lines.append(
            f"| {row['operation']} | {row['implementation']} | {row['p50_us']:.1f} "
            f"| {row['p99_us']:.1f} | {ops} |"
        )
    lines += ["", "| target | value | met |", "|---|---:|---|"]
    for target in results["targets"]:
        met = "yes" if target["met"] else "NO"
        lines.append(f"| {target['target']} | {target['value']:.3f} | {met} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on a redis-server of its own; print the tables."""
    args = parse_args(argv)
    payloads = list(PAYLOADS) if args.payload == "all" else [args.payload]
    runs = []
    with RedisServer.start() as server:
        for payload in payloads:
            runs.append(asyncio.run(benchmark(args, server.url, payload)))
            print("\n".join(report(runs[-1])) + "\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))
    failures = sum(row["failures"] for run in runs for row in run["rows"])
    if failures:
        print(f"{failures} calls failed", file=sys.stderr)
    met = all(target["met"] for run in runs for target in run["targets"])
    return 1 if args.strict and (failures or not met) else 0


if __name__ == "__main__":
    sys.exit(main())
