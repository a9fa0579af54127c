"""The specification's latency figures, on a real redis-server, at 1 and 64 concurrent callers.

    pytest tests/performance/test_cache_performance.py -v -s

- cache reads: p95 under 5 ms;
- cache writes: p95 under 10 ms;
- rate-limit checks: p99 under 2 ms;
- progress updates: p95 under 3 ms.

Each call is timed alone, from the caller's side, on a 1 KB nested document. These tests time
the machine as much as the library: they are left out of the default run (the
``performance`` marker) and their figures are printed with ``-s``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID, uuid4

import pytest
from benchmarks._payloads import nested_1kb

from jeex_cache import CacheManager, RateLimitConfig, Settings

pytestmark = pytest.mark.performance

CONCURRENCY = (1, 64)
CALLS = 2048  # per concurrency level, spread over the callers
WARMUP = 256
Call = Callable[[int], Awaitable[object]]  # one operation by caller number i


@pytest.fixture
async def manager(redis_url: str) -> AsyncIterator[CacheManager]:
    """A manager on the session's redis-server (flushed)."""
    async with CacheManager(Settings(redis_url=redis_url)) as cache:
        yield cache


async def _timed(call: Call, concurrency: int, calls: int) -> tuple[list[float], list[object]]:
    """Seconds per call and the calls' results, ``concurrency`` callers at once."""
    latencies: list[float] = []
    results: list[object] = []

    async def caller(i: int) -> None:
        for _ in range(calls // concurrency):
            started = time.perf_counter()
            result = await call(i)
            latencies.append(time.perf_counter() - started)
            results.append(result)

    await asyncio.gather(*(caller(i) for i in range(concurrency)))
    return latencies, results


def _percentile(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def _assert_under(what: str, call: Call, share: float, limit_ms: float) -> None:
    """``call``'s ``share`` percentile stays under ``limit_ms`` at each concurrency, and every
    call succeeds."""
    await _timed(call, 64, WARMUP)
    failures = []
    for concurrency in CONCURRENCY:
        latencies, results = await _timed(call, concurrency, CALLS)
        assert all(results), f"{what}: {results.count(False)} calls failed"
        p50, tail = _percentile(latencies, 0.5) * 1e3, _percentile(latencies, share) * 1e3
        print(
            f"\n{what} c{concurrency}: {len(latencies)} calls, p50 {p50:.3f} ms, "
            f"p{share * 100:g} {tail:.3f} ms (limit {limit_ms} ms)"
        )
        if tail >= limit_ms:
            failures.append(f"c{concurrency}: p{share * 100:g} {tail:.3f} ms >= {limit_ms} ms")
    assert not failures, f"{what}: " + "; ".join(failures)


def _projects() -> list[UUID]:
    return [uuid4() for _ in range(max(CONCURRENCY))]


class TestCachePerformance:
    async def test_cache_read_performance(self, manager: CacheManager) -> None:
        projects, document = _projects(), nested_1kb()
        for project in projects:
            assert await manager.cache_project_data(project, document)
        await _assert_under("reads", lambda i: manager.get_project_data(projects[i]), 0.95, 5)

    async def test_cache_write_performance(self, manager: CacheManager) -> None:
        projects, document = _projects(), nested_1kb()
        await _assert_under(
            "writes", lambda i: manager.cache_project_data(projects[i], document), 0.95, 10
        )

    async def test_rate_limit_performance(self, manager: CacheManager) -> None:
        config = RateLimitConfig(requests_per_window=1_000_000, window_seconds=60)

        async def check(i: int) -> bool:
            result = await manager.check_rate_limit(f"user-{i}", "user", config)
            return bool(result["allowed"]) and "error" not in result

        await _assert_under("rate-limit checks", check, 0.99, 2)

    async def test_progress_update_performance(self, manager: CacheManager) -> None:
        operations = _projects()
        for operation in operations:
            assert await manager.start_progress_tracking(operation, 1_000_000)
        await _assert_under(
            "progress updates", lambda i: manager.increment_progress(operations[i]), 0.95, 3
        )
