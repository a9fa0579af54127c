"""Benchmark jeex-cache's project cache against raw redis-py on the same Redis server.

    python -m benchmarks.run [--quick] [--samples N] [--ops N] [--rounds N]
                             [--payload all|1kb|100b|100kb]
                             [--redis-url URL] [--json PATH] [--strict]

The project cache's rows are measured once per payload (a 1 KB nested document with floats
and nulls, a 100-byte flat one, a 100 KB one); the other capabilities' rows with the first.

See ``benchmarks/README.md`` for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import redis
from redis.utils import HIREDIS_AVAILABLE

from benchmarks._candidates import (
    GET,
    PROJECT_ID,
    SET,
    open_candidates,
    pool_description,
    raw_client,
)
from benchmarks._floor import open_floor_candidates
from benchmarks._measure import (
    Candidate,
    Samples,
    Throughput,
    measure_latency,
    measure_throughput,
)
from benchmarks._payloads import PAYLOADS
from benchmarks._progress import open_progress_candidates, progress_targets
from benchmarks._rate_limit import open_rate_limit_candidates, rate_limit_targets
from benchmarks._report import Row, Target, report, to_json
from benchmarks._sessions import open_session_candidates
from benchmarks._stats import summarize
from jeex_cache import Settings
from jeex_cache.testing import RedisServer

__all__ = ["main"]


@dataclass(frozen=True, slots=True)
class Config:
    """What to run: sample counts, rounds, concurrency and where Redis is."""

    samples: int
    ops: int
    rounds: int
    concurrency: int
    warmup: int
    redis_url: str | None
    id_type: str
    diagnostics: bool
    max_connections: int | None
    socket_timeout: float | None
    only: str | None = None

    def settings(self, url: str) -> Settings:
        """jeex-cache's settings for ``url``; the raw pools are sized from them too.

        By default every candidate gets one connection per caller, so the throughput ratio
        measures each library's work per call, not how a pool queues surplus callers.
        """
        overrides: dict[str, Any] = {
            "redis_max_connections": self.max_connections or self.concurrency
        }
        if self.socket_timeout is not None:
            overrides["redis_socket_timeout"] = self.socket_timeout
        return Settings(redis_url=url, **overrides)


def parse_args(argv: Sequence[str] | None) -> tuple[Config, argparse.Namespace]:
    """The command line, as a ``Config`` plus the output options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--samples",
        type=int,
        help="calls per candidate at concurrency 1 (default 20000; 1500 with --quick)",
    )
    parser.add_argument(
        "--ops",
        type=int,
        help="calls per candidate for throughput (default 50000; 3000 with --quick)",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; 2 with --quick)")
    parser.add_argument("--concurrency", type=int, default=64, help="callers for throughput")
    parser.add_argument("--warmup", type=int, help="untimed calls before each slice (default 200)")
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    parser.add_argument("--redis-url", help="use this server instead of starting redis-server")
    parser.add_argument(
        "--id-type",
        choices=("uuid", "str"),
        default="uuid",
        help="pass the project ID to jeex-cache as a UUID or a string",
    )
    parser.add_argument(
        "--no-diagnostics", action="store_true", help="skip the diagnostic reference rows"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        help="pool size of every candidate (default: --concurrency, a connection per caller; "
        "REDIS_MAX_CONNECTIONS's default is 20)",
    )
    parser.add_argument(
        "--socket-timeout",
        type=float,
        help="Settings.redis_socket_timeout, also every pool's wait for a free connection "
        "(default: Settings' REDIS_SOCKET_TIMEOUT, 0.5)",
    )
    parser.add_argument(
        "--only",
        choices=("project", "rate_limit", "sessions"),
        help="measure one capability's operations",
    )
    parser.add_argument(
        "--uvloop", action="store_true", help="run on uvloop's event loop (pip install uvloop)"
    )
    parser.add_argument(
        "--payload",
        choices=("all", *PAYLOADS),
        default="all",
        help="the project cache's document: each of the three (default) or one",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    config = Config(
        samples=args.samples or (1_500 if quick else 20_000),
        ops=args.ops or (3_000 if quick else 50_000),
        rounds=args.rounds or (2 if quick else 5),
        concurrency=args.concurrency,
        warmup=args.warmup if args.warmup is not None else (50 if quick else 200),
        redis_url=args.redis_url,
        id_type=args.id_type,
        diagnostics=not args.no_diagnostics,
        max_connections=args.max_connections,
        socket_timeout=args.socket_timeout,
        only=args.only,
    )
    if min(config.samples, config.ops, config.rounds, config.concurrency) < 1:
        parser.error("--samples, --ops, --rounds and --concurrency must be positive")
    return config, args


async def server_version(url: str, settings: Settings) -> str:
    """``redis_version`` from INFO."""
    client = raw_client(url, settings, 1, socket_timeout=False)
    try:
        info: dict[str, Any] = await client.info("server")
        return str(info.get("redis_version", "?"))
    finally:
        await client.aclose()


def environment(redis_version: str) -> dict[str, Any]:
    """Versions and machine facts worth printing next to the numbers."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "redis_py": redis.__version__,
        "hiredis": HIREDIS_AVAILABLE,
        "orjson": orjson.__version__,
        "redis_server": redis_version,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


def build_rows(
    candidates: Sequence[Candidate],
    latency: dict[str, Samples],
    throughput: dict[str, Throughput],
) -> list[Row]:
    """Summaries per candidate, with ratios against the baseline of the same operation."""
    baselines = {c.operation: c.key for c in candidates if c.role == "baseline"}
    summaries = {c.key: summarize(latency[c.key].durations_ns) for c in candidates}
    rates = {c.key: throughput[c.key].ops_per_second for c in candidates}
    rows = []
    for c in candidates:
        base = baselines[c.operation]
        rows.append(Row(
            operation=c.operation,
            implementation=c.implementation,
            role=c.role,
            latency=summaries[c.key],
            ops_per_second=rates[c.key],
            loaded=summarize(throughput[c.key].durations_ns),
            loaded_max_us=max(throughput[c.key].durations_ns) / 1000,
            p50_ratio=summaries[c.key].p50_us / summaries[base].p50_us,
            throughput_ratio=rates[c.key] / rates[base],
            failures=latency[c.key].failures + throughput[c.key].failures,
        ))  # fmt: skip
    return rows


def failure_notes(rows: Sequence[Row], settings: Settings) -> list[str]:
    """Explain failed calls: with more callers than connections, they are pool timeouts."""
    failed = [f"{r.implementation} ({r.operation}): {r.failures}" for r in rows if r.failures]
    if not failed:
        return []
    return [
        "failed calls - " + "; ".join(failed) + ". With more callers than connections, these "
        "are redis-py BlockingConnectionPool wait timeouts (ConnectionError 'No connection "
        f"available' after {settings.redis_pool_timeout} s; for jeex-cache a miss or a "
        "failed write): the pool's wake-ups are not FIFO, so a caller that releases a "
        "connection takes it straight back and waiters starve (jeex-cache queues its "
        "callers first come, first served)."
    ]


def evaluate_targets(rows: Sequence[Row], concurrency: int) -> list[Target]:
    """The project's relative targets and the spec's absolute ones.

    The spec's figures are judged at concurrency 1. Under a closed loop of ``concurrency``
    callers a call's latency is about ``concurrency / throughput`` whatever the library, so
    those lines are informational, shown next to raw redis-py's.
    """
    by_role = {(r.operation, r.role): r for r in rows if r.role != "reference"}
    get, put = by_role[GET, "ours"], by_role[SET, "ours"]
    raw_get, raw_put = by_role[GET, "baseline"], by_role[SET, "baseline"]
    ours_failed = sum(r.failures for r in rows if r.role == "ours")
    raw_failed = sum(r.failures for r in rows if r.role == "baseline")
    c = concurrency
    return [
        Target("jeex-cache: no call failed (no fallback to a miss / failed write)",
               f"{ours_failed} failed; raw redis-py baselines: {raw_failed}", ours_failed == 0),
        Target("get_project_data p50 <= 0.7x raw GET+decode",
               f"{get.p50_ratio:.2f}x", get.p50_ratio <= 0.7),
        Target("cache_project_data p50 <= 0.8x raw SET",
               f"{put.p50_ratio:.2f}x", put.p50_ratio <= 0.8),
        Target(f"get_project_data throughput @{c} >= 6x raw",
               f"{get.throughput_ratio:.2f}x", get.throughput_ratio >= 6),
        Target(f"cache_project_data throughput @{c} >= 4x raw",
               f"{put.throughput_ratio:.2f}x", put.throughput_ratio >= 4),
        Target(f"get_project_data p99 @{c} <= raw's",
               f"{get.loaded.p99_us:.0f} µs; raw {raw_get.loaded.p99_us:.0f} µs",
               get.loaded.p99_us <= raw_get.loaded.p99_us),
        Target(f"cache_project_data p99 @{c} <= raw's",
               f"{put.loaded.p99_us:.0f} µs; raw {raw_put.loaded.p99_us:.0f} µs",
               put.loaded.p99_us <= raw_put.loaded.p99_us),
        Target("spec: reads p95 < 5 ms (concurrency 1)",
               f"{get.latency.p95_us / 1000:.3f} ms", get.latency.p95_us < 5_000),
        Target("spec: writes p95 < 10 ms (concurrency 1)",
               f"{put.latency.p95_us / 1000:.3f} ms", put.latency.p95_us < 10_000),
        Target(f"reads p95 < 5 ms @{c} callers",
               f"{get.loaded.p95_us / 1000:.3f} ms; raw {raw_get.loaded.p95_us / 1000:.3f} ms",
               get.loaded.p95_us < 5_000, informational=True),
        Target(f"writes p95 < 10 ms @{c} callers",
               f"{put.loaded.p95_us / 1000:.3f} ms; raw {raw_put.loaded.p95_us / 1000:.3f} ms",
               put.loaded.p95_us < 10_000, informational=True),
    ]  # fmt: skip


def session_targets(rows: Sequence[Row], concurrency: int) -> list[Target]:
    """``validate_user_session`` against raw GETEX + decode: p50 <= 0.8x, throughput >= 4x."""
    ours = next(r for r in rows if r.operation == "validate_user_session" and r.role == "ours")
    return [
        Target("validate_user_session p50 <= 0.8x raw GETEX+decode",
               f"{ours.p50_ratio:.2f}x", ours.p50_ratio <= 0.8),
        Target(f"validate_user_session throughput @{concurrency} >= 4x raw",
               f"{ours.throughput_ratio:.2f}x", ours.throughput_ratio >= 4),
    ]  # fmt: skip


async def benchmark(
    config: Config, url: str, payload: str = "1kb", *, documents_only: bool = False
) -> dict[str, Any]:
    """Run every measurement against ``url`` with the ``payload`` document (only the project
    cache's rows if ``documents_only``); return the results as plain data."""
    settings = config.settings(url)
    # Failures are counted and reported in the results; the per-failure warnings would only
    # interleave with the output.
    logging.getLogger("jeex_cache").setLevel(logging.ERROR)
    document = PAYLOADS[payload]()
    project_id = PROJECT_ID if config.id_type == "uuid" else str(PROJECT_ID)
    env = environment(await server_version(url, settings))
    async with AsyncExitStack() as stack:
        candidates: list[Candidate] = []
        notes: list[str] = []
        if config.only not in ("rate_limit", "sessions"):
            candidates, notes = await open_candidates(
                stack,
                url,
                settings,
                document,
                config.concurrency,
                project_id=project_id,
                diagnostics=config.diagnostics,
            )
            floor, floor_notes = await open_floor_candidates(stack, url, settings, document)
            order = {GET: 0, SET: 1}
            candidates = sorted(candidates + floor, key=lambda c: order[c.operation])
            notes += floor_notes
        if config.only != "rate_limit" and not documents_only:
            sessions, session_notes = await open_session_candidates(
                stack, url, settings, config.concurrency, diagnostics=config.diagnostics
            )
            candidates += sessions
            notes += session_notes
        if config.only is None and not documents_only:
            candidates += await open_progress_candidates(
                stack, url, settings, config.concurrency, diagnostics=config.diagnostics
            )
        if config.only in (None, "rate_limit") and not documents_only:
            more, more_notes = await open_rate_limit_candidates(
                stack, url, settings, config.concurrency, diagnostics=config.diagnostics
            )
            candidates, notes = candidates + more, notes + more_notes
        started = time.monotonic()
        latency = await measure_latency(candidates, config.samples, config.rounds, config.warmup)
        throughput = await measure_throughput(
            candidates, config.ops, config.rounds, config.concurrency, config.warmup
        )
        elapsed = time.monotonic() - started
    rows = build_rows(candidates, latency, throughput)
    notes += failure_notes(rows, settings)
    return {
        "environment": env,
        "config": asdict(config)
        | {"redis_url": url, "payload": payload, "document_bytes": len(orjson.dumps(document))},
        "pool": pool_description(settings, config.concurrency),
        "notes": notes,
        "elapsed_seconds": round(elapsed, 1),
        "rows": rows,
        "targets": targets(config, rows, documents_only),
    }


def targets(config: Config, rows: Sequence[Row], documents_only: bool) -> list[Target]:
    """The targets of the capabilities measured (``--only``: one; the other documents: the
    project cache's only)."""
    only, concurrency = config.only, config.concurrency
    found: list[Target] = []
    if only in (None, "project"):
        found += evaluate_targets(rows, concurrency)
    if documents_only:
        return found
    if only is None:
        found += [Target(*line) for line in progress_targets(rows, concurrency)]
    if only in (None, "sessions"):
        found += session_targets(rows, concurrency)
    if only in (None, "rate_limit"):
        found += [Target(*t) for t in rate_limit_targets(rows, concurrency)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 unless ``--strict`` and a target failed."""
    config, args = parse_args(argv)
    with ExitStack() as stack:
        url = config.redis_url
        if url is None:
            url = stack.enter_context(RedisServer.start()).url
        loop_factory = None
        if args.uvloop:
            import uvloop

            loop_factory = uvloop.new_event_loop
        payloads = list(PAYLOADS) if args.payload == "all" else [args.payload]
        if config.only in ("rate_limit", "sessions"):  # no document: one run is enough
            payloads = payloads[:1]
        runs = []
        for number, payload in enumerate(payloads):
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                results = runner.run(benchmark(config, url, payload, documents_only=number > 0))
            results["environment"]["event_loop"] = "uvloop" if args.uvloop else "asyncio"
            print(f"{'' if number == 0 else chr(10)}## Payload {payload}\n")
            print("\n".join(report(results)), flush=True)
            runs.append(results)
    if args.json is not None:
        args.json.write_text("[" + ",\n".join(to_json(r) for r in runs) + "]\n")
        print(f"\nJSON written to {args.json}")
    failed = [t for r in runs for t in r["targets"] if not (t.passed or t.informational)]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
