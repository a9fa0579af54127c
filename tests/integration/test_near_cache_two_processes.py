"""The near cache keeps its promise across processes: a reader never returns a version older
than one acknowledged before its read began, beyond the invalidation latency. A writer process
writes versions 1..n of one document; a reader process with the near cache on reads in a loop
(``benchmarks/near_staleness.py`` runs the same two processes and prints the figures)."""

from __future__ import annotations

from benchmarks.near_staleness import analyse, run_two_processes

VERSIONS = 60
INTERVAL = 0.02  # seconds between writes: room for near hits between two invalidations
LAG = 1.0  # how far a read may lag an acknowledged write: generous, for a slow machine


def test_a_reader_in_another_process_never_lags_an_acknowledged_write(redis_url: str) -> None:
    result = run_two_processes(redis_url, VERSIONS, INTERVAL, deadline=60)
    print(result)  # the measured figures, with -s
    assert result.versions == VERSIONS
    assert result.final_version == VERSIONS
    assert result.unseen_versions == 0
    assert result.backwards == 0
    assert result.worst_staleness <= LAG
    assert result.near_hits >= VERSIONS  # the reads really went through the near cache
    assert result.reads > result.near_hits  # and misses refilled it after invalidations


def test_the_analysis_counts_a_stale_read_and_its_staleness() -> None:
    """The checker itself: a read that started 0.5 s after version 2 was acknowledged and
    still returned version 1 is stale by 0.5 s; going back to it counts as backwards."""
    acks = [[1, 10.0], [2, 11.0]]
    reads = [[10.5, 10.6, 1], [11.2, 11.3, 2], [11.5, 11.6, 1], [11.9, 12.0, 2]]
    result = analyse(acks, reads, hits=2)
    assert result.stale_reads == 1
    assert abs(result.worst_staleness - 0.5) < 1e-9
    assert result.backwards == 1
    assert result.unseen_versions == 0
    assert abs(result.latency_max - 0.6) < 1e-6  # version 1: acknowledged 10.0, seen by 10.6
