"""Benchmark jeex-cache on a 3-master Redis Cluster against one standalone server, in one run.

    python -m benchmarks.cluster [--quick] [--projects N] [--samples N] [--ops N]
                                 [--concurrency N] [--rounds N]

Everything runs on this machine, started here (``jeex_cache.testing``): a standalone
``redis-server``, a cluster of 3 masters + 3 replicas, and a one-node cluster (every slot on
one cluster-mode server). ``--projects`` projects are spread over the slots; each call takes
the next project of a shuffled cycle, so on the cluster calls reach every master. Reported:
c1 latency (p50, p99) and throughput from ``--concurrency`` callers, for ``get_project_data``
and ``cache_project_data``, and two ratios of c1 p50:

- topology: 3-master cluster / standalone (what this machine shows of six servers);
- routing overhead: the one-node cluster through ``redis+cluster://`` (the ``ClusterRouter``)
  / the same server through ``redis://`` (``SingleNode``): the client's routing cost alone,
  target at most 1.1. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import random
import sys
import time
from collections import defaultdict
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._candidates import sample_document
from benchmarks._measure import Call, Candidate, measure_latency, measure_throughput
from benchmarks._stats import summarize
from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisCluster, RedisServer

__all__ = ["main"]

TARGET_OVERHEAD = 1.1


async def _client_cpu(candidates: list[Candidate], calls: int, rounds: int) -> dict[str, float]:
    """This process's CPU time per sequential call (µs), interleaved over ``rounds``: the
    client's own cost, which a busy machine's scheduling delays do not inflate."""
    spent: dict[str, float] = defaultdict(float)
    for index in range(rounds):
        shift = index % len(candidates)
        for candidate in candidates[shift:] + candidates[:shift]:
            start = time.process_time()
            for _ in range(calls // rounds):
                await candidate.call()
            spent[candidate.key] += time.process_time() - start
    return {key: seconds * 1e6 / (calls // rounds * rounds) for key, seconds in spent.items()}


def _calls(cache: CacheManager, projects: list[UUID]) -> tuple[Call, Call]:
    document = sample_document()
    reads = itertools.cycle(random.Random(1).sample(projects, len(projects)))
    writes = itertools.cycle(random.Random(2).sample(projects, len(projects)))

    async def get() -> bool:
        return await cache.get_project_data(next(reads)) is not None

    async def put() -> bool:
        return await cache.cache_project_data(next(writes), document)

    return get, put


async def run(args: argparse.Namespace) -> int:
    projects = [uuid4() for _ in range(args.projects)]
    document = sample_document()
    with (
        RedisServer.start() as server,
        RedisCluster.start() as cluster,
        RedisCluster.start(masters=1, replicas=0) as single,
    ):
        port = next(iter(single.servers))
        topologies = (
            ("standalone", server.url),
            ("3-master cluster", cluster.url),
            ("1 node, redis://", f"redis://127.0.0.1:{port}/0"),
            ("1 node, redis+cluster://", single.url),
        )
        async with AsyncExitStack() as stack:
            candidates: list[Candidate] = []
            for name, url in topologies:
                cache = await stack.enter_async_context(CacheManager(Settings(redis_url=url)))
                for project in projects:
                    assert await cache.cache_project_data(project, document)
                get, put = _calls(cache, projects)
                candidates += [
                    Candidate("get_project_data", name, "ours", get),
                    Candidate("cache_project_data", name, "ours", put),
                ]
            gets = [c for c in candidates if c.operation == "get_project_data"]
            puts = [c for c in candidates if c.operation == "cache_project_data"]
            latency = {
                **await measure_latency(gets, args.samples, args.rounds, 200),
                **await measure_latency(puts, args.samples, args.rounds, 200),
            }
            cpu = {
                **await _client_cpu(gets, args.samples, args.rounds),
                **await _client_cpu(puts, args.samples, args.rounds),
            }
            throughput = {
                **await measure_throughput(gets, args.ops, args.rounds, args.concurrency, 200),
                **await measure_throughput(puts, args.ops, args.rounds, args.concurrency, 200),
            }
    print(f"{args.projects} projects, {args.samples} c1 samples, {args.ops} ops from "
          f"{args.concurrency} callers, {args.rounds} rounds\n")  # fmt: skip
    print("| operation | topology | c1 p50 µs | c1 p99 µs | client CPU µs/call | "
          f"c{args.concurrency} ops/s | failures |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    failed = 0
    for candidate in candidates:
        lat, thr = latency[candidate.key], throughput[candidate.key]
        summary = summarize(lat.durations_ns)
        failed += lat.failures + thr.failures
        print(f"| `{candidate.operation}` | {candidate.implementation} | {summary.p50_us:.0f} | "
              f"{summary.p99_us:.0f} | {cpu[candidate.key]:.1f} | {thr.ops_per_second:,.0f} | "
              f"{lat.failures + thr.failures} |")  # fmt: skip
    worst = 0.0
    for operation in ("get_project_data", "cache_project_data"):
        p50 = {
            c.implementation: summarize(latency[c.key].durations_ns).p50_us
            for c in candidates
            if c.operation == operation
        }
        used = {c.implementation: cpu[c.key] for c in candidates if c.operation == operation}
        topology = p50["3-master cluster"] / p50["standalone"]
        routing = p50["1 node, redis+cluster://"] / p50["1 node, redis://"]
        routing_cpu = used["1 node, redis+cluster://"] / used["1 node, redis://"]
        worst = max(worst, routing)
        verdict = "ok" if routing <= TARGET_OVERHEAD else "over"
        print(f"\n`{operation}` c1 p50: 3-master cluster / standalone = {topology:.2f}x; "
              f"routing overhead (1 node, cluster router / single) = {routing:.2f}x "
              f"(target ≤ {TARGET_OVERHEAD}x: {verdict}), client CPU {routing_cpu:.2f}x",
              end="")  # fmt: skip
    print()
    return 1 if args.strict and (failed or worst > TARGET_OVERHEAD) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--projects", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--ops", type=int, default=30000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.samples, args.ops, args.rounds = 200, 300, 1000, 2
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
