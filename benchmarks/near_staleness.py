"""Measure the near cache's staleness across processes: a writer and a reader.

    python -m benchmarks.near_staleness [--versions 300] [--interval 0.01] [--json PATH]

One throw-away redis-server (``jeex_cache.testing.RedisServer``). A writer process (no near
cache) writes versions 1..n of one project document, ``interval`` apart, and records when each
write was acknowledged; a reader process (near cache on) reads in a loop, recording when each
read started and ended and the version it returned (``benchmarks/_near_staleness_worker.py``).

- **Staleness** of a read that started at ``t`` and returned ``v``: 0 when no version newer
  than ``v`` was acknowledged before ``t``, else ``t`` minus the acknowledgement of ``v + 1``.
  The worst over all reads is what the near cache's promise bounds.
- **Invalidation latency** of version ``u``: from its acknowledgement to the end of the
  reader's first read that returned ``u`` or newer (p50 and p99 over the versions).

The test ``tests/integration/test_near_cache_two_processes.py`` runs the same two processes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._stats import percentile
from jeex_cache.testing import RedisServer

__all__ = ["TwoProcessReport", "analyse", "main", "run_two_processes"]

ROOT = Path(__file__).resolve().parent.parent
WORKER = "benchmarks._near_staleness_worker"


@dataclass(frozen=True, slots=True)
class TwoProcessReport:
    """What the reader saw against what the writer acknowledged (times in seconds)."""

    versions: int
    reads: int
    near_hits: int
    final_version: int
    backwards: int  # reads that returned an older version than an earlier read
    stale_reads: int  # reads that returned a version older than one acknowledged before
    worst_staleness: float
    unseen_versions: int  # versions no read returned, nor anything newer
    latency_p50: float
    latency_p99: float
    latency_max: float


def analyse(
    acks: Sequence[Sequence[float]], reads: Sequence[Sequence[float]], hits: int
) -> TwoProcessReport:
    """Staleness and invalidation latency of ``reads`` ([started, ended, version]) against
    ``acks`` ([version, acknowledged]), versions 1..n in order."""
    acked = {int(version): at for version, at in acks}
    newest_acked, backwards, highest, stale, worst = 0, 0, 0, 0, 0.0
    for started, _, seen in reads:
        while newest_acked + 1 in acked and acked[newest_acked + 1] < started:
            newest_acked += 1
        version = int(seen)
        if version < highest:
            backwards += 1
        highest = max(highest, version)
        if version < newest_acked:
            stale += 1
            worst = max(worst, started - acked[version + 1])
    latencies_ns = []  # int nanoseconds, as ``percentile`` takes them
    for version, at in sorted(acked.items()):
        first = next((ended for _, ended, seen in reads if seen >= version), None)
        if first is not None:
            latencies_ns.append(max(0, round((first - at) * 1e9)))
    latencies_ns.sort()
    return TwoProcessReport(
        versions=len(acked),
        reads=len(reads),
        near_hits=hits,
        final_version=int(reads[-1][2]) if reads else 0,
        backwards=backwards,
        stale_reads=stale,
        worst_staleness=worst,
        unseen_versions=len(acked) - len(latencies_ns),
        latency_p50=percentile(latencies_ns, 0.50) / 1e9,
        latency_p99=percentile(latencies_ns, 0.99) / 1e9,
        latency_max=latencies_ns[-1] / 1e9 if latencies_ns else float("nan"),
    )


def run_two_processes(
    url: str, versions: int, interval: float, deadline: float = 60.0
) -> TwoProcessReport:
    """Start the reader, then (once it tracks) the writer; both end by themselves."""
    project = str(uuid.uuid4())
    command = [sys.executable, "-m", WORKER]
    reader = subprocess.Popen(
        [*command, "reader", url, project, str(versions), str(deadline)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        ready = reader.stdout.readline().strip()  # the reader bounds its own wait
        if ready != "ready":
            raise RuntimeError(f"the reader did not start tracking: {ready!r}")
        written = subprocess.run(
            [*command, "writer", url, project, str(versions), str(interval)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=deadline,
            check=True,
        )
        out, _ = reader.communicate(timeout=deadline + 30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    seen: dict[str, Any] = json.loads(out)
    acks = json.loads(written.stdout)["acks"]
    return analyse(acks, seen["reads"], int(seen["stats"]["hits"]))


def report(result: TwoProcessReport) -> list[str]:
    """The figures as a Markdown table, in milliseconds."""
    ms = 1000
    return [
        "| figure | value |",
        "|---|---:|",
        f"| versions written | {result.versions} |",
        f"| reads (near hits) | {result.reads} ({result.near_hits}) |",
        f"| stale reads | {result.stale_reads} |",
        f"| worst staleness | {result.worst_staleness * ms:.3f} ms |",
        f"| invalidation latency p50 | {result.latency_p50 * ms:.3f} ms |",
        f"| invalidation latency p99 | {result.latency_p99 * ms:.3f} ms |",
        f"| invalidation latency max | {result.latency_max * ms:.3f} ms |",
        f"| versions going backwards | {result.backwards} |",
        f"| final version seen | {result.final_version} |",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run both processes on a redis-server of their own; print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.near_staleness")
    parser.add_argument("--versions", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between writes")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with RedisServer.start() as server:
        result = run_two_processes(server.url, args.versions, args.interval)
    print("\n".join(report(result)), flush=True)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
