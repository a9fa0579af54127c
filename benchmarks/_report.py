"""The benchmark's rows, targets and its Markdown and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks._stats import LatencySummary

__all__ = ["Row", "Target", "report", "to_json"]


@dataclass(frozen=True, slots=True)
class Row:
    """One candidate's results, with ratios against its operation's raw baseline."""

    operation: str
    implementation: str
    role: str
    latency: LatencySummary
    ops_per_second: float
    loaded: LatencySummary
    loaded_max_us: float
    p50_ratio: float
    throughput_ratio: float
    failures: int


@dataclass(frozen=True, slots=True)
class Target:
    """One performance target and whether it is met."""

    description: str
    measured: str
    passed: bool
    informational: bool = False

    def line(self) -> str:
        """``- PASS: ...``, ``- FAIL: ...``, or ``- INFO (met|not met): ...``."""
        if self.informational:
            verdict = f"INFO ({'met' if self.passed else 'not met'})"
        else:
            verdict = "PASS" if self.passed else "FAIL"
        return f"- {verdict}: {self.description} ({self.measured})"


def _label(row: Row) -> str:
    return {
        "ours": f"**{row.implementation}**",
        "baseline": f"{row.implementation} (baseline)",
    }.get(row.role, f"_{row.implementation}_ (ref)")


def render_table(rows: Sequence[Row], concurrency: int) -> Iterator[str]:
    """The main Markdown table: latency of one caller, throughput of ``concurrency``."""
    yield (f"| operation | implementation | p50 µs | p95 µs | p99 µs | ops/s @{concurrency} "
           "| p50 ratio vs raw | throughput ratio vs raw |")  # fmt: skip
    yield "|---|---|--:|--:|--:|--:|--:|--:|"
    for r in rows:
        lat = r.latency
        yield (f"| {r.operation} | {_label(r)} | {lat.p50_us:.1f} | {lat.p95_us:.1f} "
               f"| {lat.p99_us:.1f} | {r.ops_per_second:,.0f} | {r.p50_ratio:.2f}x "
               f"| {r.throughput_ratio:.2f}x |")  # fmt: skip


def render_loaded(rows: Sequence[Row], concurrency: int) -> Iterator[str]:
    """Per-call latency while ``concurrency`` callers share the pool."""
    yield (
        f"| operation | implementation | p50 µs @{concurrency} | p95 µs @{concurrency} "
        f"| p99 µs @{concurrency} | max µs @{concurrency} | failed calls (all runs) |"
    )
    yield "|---|---|--:|--:|--:|--:|--:|"
    for r in rows:
        lat = r.loaded
        yield (f"| {r.operation} | {_label(r)} | {lat.p50_us:.0f} | {lat.p95_us:.0f} "
               f"| {lat.p99_us:.0f} | {r.loaded_max_us:.0f} | {r.failures} |")  # fmt: skip


def report(results: dict[str, Any]) -> Iterator[str]:
    """The human-readable report, Markdown."""
    env, config = results["environment"], results["config"]
    yield (f"Environment: Python {env['python']} ({env['implementation']}), redis-py "
           f"{env['redis_py']}, hiredis {'yes' if env['hiredis'] else 'NO'}, orjson "
           f"{env['orjson']}, redis-server {env['redis_server']}, {env['cpu_count']} CPUs, "
           f"{env['platform']}, event loop {env.get('event_loop', 'asyncio')}")  # fmt: skip
    yield (f"Run: {config['samples']} sequential calls and {config['ops']} calls from "
           f"{config['concurrency']} concurrent callers per candidate, interleaved over "
           f"{config['rounds']} rounds, GC off while timing; document "
           f"{config.get('payload', '?')}, {config['document_bytes']} bytes of JSON; project "
           f"ID passed as {config['id_type']}; {results['elapsed_seconds']} s.")  # fmt: skip
    yield f"Pool: {results['pool']}."
    yield from (f"Note: {note}" for note in results["notes"])
    yield ""
    yield from render_table(results["rows"], config["concurrency"])
    yield ""
    yield from render_loaded(results["rows"], config["concurrency"])
    yield ""
    yield "Targets:"
    for target in results["targets"]:
        yield target.line()


def to_json(results: dict[str, Any]) -> str:
    """The results as JSON (rows and targets flattened to objects)."""
    data = dict(results)
    data["rows"] = [asdict(row) for row in results["rows"]]
    data["targets"] = [asdict(target) for target in results["targets"]]
    return json.dumps(data, indent=2, ensure_ascii=False)
