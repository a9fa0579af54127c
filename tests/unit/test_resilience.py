"""The guard on its own: the failure table, outcomes, retries and a span's own verdict."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jeex_cache import CacheManager, Settings
from jeex_cache.core.errors import BackendError, InvalidInputError
from jeex_cache.core.resilience import (
    FAILURE_POLICY,
    NOT_HELD,
    Family,
    Outcome,
    guarded,
    outcome_of,
)
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.runtime import CALL_RETRY, OperationRuntime
from jeex_cache.project_cache.failures import CACHE_READ, CACHE_WRITE
from jeex_cache.sessions.failures import SESSION_REVOKE


class Flaky:
    """A guarded object whose read fails ``failures`` times (transient), then answers."""

    def __init__(self, runtime: OperationRuntime, failures: int = 1, transient: bool = True):
        self.runtime = runtime
        self.failures = failures
        self.transient = transient
        self.calls = 0

    async def answer(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise BackendError("connection reset", transient=self.transient)
        return "value"

    @guarded(CACHE_READ, idempotent=True)
    async def read(self) -> str:
        return await self.answer()

    @guarded(CACHE_READ, idempotent=True, outcome=True)
    async def read_outcome(self) -> str:
        return await self.answer()


class Peeked:
    """A guarded read with a ``peek``: answered in process while ``held`` has a value."""

    def __init__(self, runtime: OperationRuntime) -> None:
        self.runtime = runtime
        self.held: dict[str, str] = {}
        self.reads = 0

    @guarded(CACHE_READ, idempotent=True, peek=lambda self, key: self.held.get(key, NOT_HELD))
    async def read(self, key: str) -> str | None:
        self.reads += 1
        return None


async def test_a_peeked_answer_is_counted_like_the_method_and_a_miss_falls_through() -> None:
    runtime = OperationRuntime()
    peeked = Peeked(runtime)
    peeked.held["k"] = "v"
    assert await peeked.read("k") == "v"
    assert await outcome_of(peeked.read, "k") == Outcome("v")
    assert peeked.reads == 0  # answered without running the method
    assert await peeked.read("other") is None
    assert peeked.reads == 1
    stats = runtime.telemetry.operations["read"]
    assert (stats.count, stats.hits, stats.misses) == (3, 2, 1)


def test_every_capability_declares_its_rows() -> None:
    import jeex_cache  # noqa: F401 - the manager imports every capability's rows

    assert {
        "cache_read", "cache_write", "cache_invalidate", "maintenance", "rate_limit",
        "session", "session_revoke", "progress", "task_enqueue", "task_control",
        "task_worker", "task_progress_owner",
    } <= set(FAILURE_POLICY)  # fmt: skip
    assert FAILURE_POLICY["cache_read"] is CACHE_READ
    assert all(row.why for row in FAILURE_POLICY.values())
    assert SESSION_REVOKE.raises
    assert not CACHE_WRITE.raises
    with pytest.raises(ValueError, match="already"):
        Family("cache_read", "a second row of one name")
    with pytest.raises(ValueError, match="no fallback"):
        guarded(SESSION_REVOKE, fallback=lambda: None)


async def test_an_outcome_says_whether_the_call_itself_failed() -> None:
    runtime = OperationRuntime()
    runtime.configure(RetryPolicy(retries=0), 10, 10.0)
    flaky = Flaky(runtime, failures=1, transient=False)
    failed = await flaky.read_outcome()
    assert failed.failed
    assert failed.value is None  # the row's miss
    assert isinstance(failed.error, BackendError)
    done = await flaky.read_outcome()
    assert done == Outcome("value")
    assert not done.failed


async def test_outcome_of_gives_one_call_of_a_plain_operation_its_outcome() -> None:
    runtime = OperationRuntime()
    runtime.configure(RetryPolicy(retries=0), 10, 10.0)
    flaky = Flaky(runtime, failures=1, transient=False)
    failed = await outcome_of(flaky.read)
    assert failed.failed
    assert failed.value is None
    assert isinstance(failed.error, BackendError)
    assert await outcome_of(flaky.read) == Outcome("value")
    assert await flaky.read() == "value"  # the operation itself still answers plainly
    assert runtime.tracker.failures["read"] == 1  # measured as the operation itself
    with pytest.raises(InvalidInputError, match="not a bound guarded operation"):
        await outcome_of(flaky.answer)
    with pytest.raises(InvalidInputError):  # it returns its Outcome already
        await outcome_of(flaky.read_outcome)


def test_the_first_retry_is_at_once_and_the_next_back_off() -> None:
    policy = RetryPolicy(1.0, 2.0, 5.0, at_once=True)
    assert [policy.wait(retry) for retry in range(5)] == [0.0, 1.0, 2.0, 4.0, 5.0]
    assert policy.seconds_after(1) == 1.0  # a task's backoff is not affected
    jittered = RetryPolicy(1.0, 2.0, 5.0, jitter=True, at_once=True)
    assert jittered.wait(0) == 0.0
    assert all(0 <= jittered.wait(2) <= 2.0 for _ in range(100))
    bounded = RetryPolicy(retries=2, deadline=0.5)
    assert bounded.allows(1, 0.4)
    assert not bounded.allows(2, 0.0)
    assert not bounded.allows(0, 0.5)


async def test_a_connection_failure_is_retried_at_once_with_the_default_settings() -> None:
    # The defaults wait up to RETRY_DELAY (1 s, jittered) before a retry, longer than the
    # 0.5 s deadline half of the time: the first retry of a broken connection does not wait.
    async with CacheManager(Settings(redis_url=None)) as cache:
        assert cache.runtime.retry == CALL_RETRY
        flakies = [Flaky(cache.runtime) for _ in range(20)]
        assert [await flaky.read() for flaky in flakies] == ["value"] * 20
        assert [flaky.calls for flaky in flakies] == [2] * 20
        assert cache.failure_tracker.failures["read"] == 20
        stats = (await cache.get_performance_metrics())["operations"]["read"]
        assert (stats["errors"], stats["hits"]) == (0, 20)


async def test_an_answer_from_the_server_is_not_retried() -> None:
    async with CacheManager(Settings(redis_url=None)) as cache:
        flaky = Flaky(cache.runtime, transient=False)
        assert await flaky.read() is None
        assert flaky.calls == 1


class Gated:
    """One operation; a call with ``fail`` fails at once, one without waits for ``open``."""

    def __init__(self, runtime: OperationRuntime) -> None:
        self.runtime = runtime
        self.open = asyncio.Event()

    @guarded(CACHE_READ)
    async def read(self, fail: bool) -> Any:
        if fail:
            raise BackendError("down", transient=False)
        await self.open.wait()
        return "value"


async def test_a_concurrent_failure_does_not_mark_a_successful_span_degraded() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime = OperationRuntime()
    runtime.configure(RetryPolicy(retries=0), 10, 10.0, tracer_provider=provider)
    gated = Gated(runtime)
    slow = asyncio.create_task(gated.read(False))
    await asyncio.sleep(0)  # the successful call is under way
    assert await gated.read(True) is None  # the same operation fails meanwhile
    gated.open.set()
    assert await slow == "value"
    outcomes = [(span.attributes or {})["outcome"] for span in exporter.get_finished_spans()]
    assert outcomes == ["degraded", "hit"]
