"""A Sentinel master SIGKILLed under a mixed load: the client follows the promoted replica.

Each test starts a Sentinel set of its own (the session's one stays intact for the contract
suite). The failover set has two replicas, so that after the promotion one is left to confirm
the durable enqueues (WAIT 1) and enqueue works again too.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import (
    BackendError,
    CacheManager,
    RateLimitConfig,
    ReplicationTimeoutError,
    Settings,
    TaskContext,
    Worker,
    outcome_of,
)
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.transport.sentinel import SentinelRouter
from jeex_cache.testing import SentinelSet

CALL_BOUND = 3.0  # seconds: no call may take longer, failover or not
QUEUE = "failover"


def failover_settings(topology: SentinelSet, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": topology.url,
        "redis_socket_timeout": 0.5,
        "redis_connect_timeout": 0.3,
        "circuit_breaker_failure_threshold": 3,
        "circuit_breaker_reset_timeout": 0.3,
        "retry_delay": 0.01,
        "cache_request_deadline": 0.5,
        "redis_wait_timeout": 500,
    }
    return Settings(**(values | changes))


@pytest.fixture
def topology() -> Iterator[SentinelSet]:
    with SentinelSet.start(replicas=2) as own:
        yield own


class Load:
    """Callers in a loop: outcomes counted per family, exceptions kept, durations bounded."""

    def __init__(self) -> None:
        self.escaped: list[BaseException] = []
        self.ok: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.longest = 0.0
        self.stop = asyncio.Event()

    async def run(self, name: str, call: Callable[[], Awaitable[bool]]) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                good = await call()
            except Exception as exc:  # the test is about what escapes
                self.escaped.append(exc)
                good = False
            self.longest = max(self.longest, time.monotonic() - started)
            (self.ok if good else self.failed)[name] += 1
            await asyncio.sleep(0.002)


async def test_master_killed_under_mixed_load(topology: SentinelSet) -> None:
    processed: set[str] = set()
    acknowledged: list[str] = []
    refused: list[BaseException] = []

    async def handle(ctx: TaskContext, payload: Any) -> None:
        processed.add(ctx.task_id)

    async with CacheManager(failover_settings(topology)) as cache:
        project, tagged = uuid4(), uuid4()
        session = await cache.create_user_session(uuid4(), {}, [project])
        assert session is not None
        session_id = session.session_id
        assert session_id is not None
        operation = uuid4()
        await cache.start_progress_tracking(operation, 10_000_000)
        policy = RateLimitConfig(10_000_000, 60)
        load = Load()

        async def enqueue() -> bool:
            try:
                acknowledged.append(await cache.enqueue_task(QUEUE, "work", {}))
            except BackendError as exc:  # the table: the caller knows it may not be queued
                refused.append(exc)
                return False
            return True

        async def rate_limit() -> bool:
            return "error" not in await cache.check_rate_limit("load", "user", policy)

        async def progress() -> bool:
            result = await cache.increment_progress(operation, "step")
            return result.outcome.value == "applied"

        async def validate() -> bool:
            return await cache.validate_user_session(session_id) is not None

        async def read() -> bool:
            return (await cache.read_project_data(project)).outcome.value != "failed"

        async def write() -> bool:
            return await cache.cache_project_data(project, {"n": 1})

        async def tag_write() -> bool:
            return await cache.cache_project_data(tagged, {"t": 1}, tags=["load"])

        async def invalidate() -> bool:
            done = await outcome_of(cache.invalidate_tag_in_projects, "load", [tagged], "load")
            return not done.failed

        callers = {
            "read": read,
            "write": write,
            "tag_write": tag_write,
            "invalidate": invalidate,
            "validate": validate,
            "rate_limit": rate_limit,
            "progress": progress,
            "enqueue": enqueue,
        }
        retry = RetryPolicy(delay=0.1, multiplier=2.0)
        workers = [
            Worker(cache, QUEUE, {"work": handle}, concurrency=4, visibility_timeout=3.0,
                   max_wait=1.0, retry=retry)
            for _ in range(2)
        ]  # fmt: skip
        running = [asyncio.create_task(worker.run()) for worker in workers]
        calls = [asyncio.create_task(load.run(name, call)) for name, call in callers.items()]
        await asyncio.sleep(1.0)
        before = sum(load.ok.values())

        old = topology.master()
        old.kill()
        killed = time.monotonic()
        promoted = await asyncio.to_thread(_promotion, topology, old.port)
        failed_by_promotion = dict(load.failed)
        recovered = await _recovery(cache, load)
        ok_at_recovery = Counter(load.ok)
        await asyncio.sleep(1.5)  # every family works again after the promotion
        load.stop.set()
        await asyncio.gather(*calls)
        deadline = time.monotonic() + 30
        while not set(acknowledged) <= processed and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the workers fill ``processed``; this reads it
        for worker in workers:
            worker.stop()
        await asyncio.gather(*running)

    lost = set(acknowledged) - processed
    print(
        f"\nsentinel failover: promotion {promoted - killed:.2f}s after the kill, "
        f"operations back {recovered - killed:.2f}s after the kill "
        f"({recovered - promoted:.2f}s after the promotion); failed calls by family "
        f"{dict(load.failed)} (by the promotion {failed_by_promotion}); "
        f"enqueues acknowledged {len(acknowledged)}, refused {len(refused)}, lost {len(lost)}; "
        f"longest call {load.longest:.2f}s; calls ok before the kill {before}"
    )
    assert load.escaped == []  # every family but enqueue degrades; enqueue raises BackendError
    assert before > 0
    assert load.longest < CALL_BOUND
    assert lost == set()  # every acknowledged task was processed
    assert recovered - promoted < 10.0  # operations work again within seconds of it
    for name in callers:
        assert load.ok[name] > ok_at_recovery[name], name  # each family works after it
    assert all(isinstance(exc, BackendError) for exc in refused)
    assert not any(
        code in str(exc) for exc in refused for code in ("READONLY", "MOVED", "CROSSSLOT")
    )


async def test_enqueue_raises_when_no_replica_confirms(topology: SentinelSet) -> None:
    async with CacheManager(failover_settings(topology, redis_wait_timeout=200)) as cache:
        assert await cache.enqueue_task(QUEUE, "work", {}, task_id="confirmed")
        for replica in topology.replicas():
            replica.pause()
        try:
            with pytest.raises(ReplicationTimeoutError, match="may or may not be queued"):
                await cache.enqueue_task(QUEUE, "work", {}, task_id="unconfirmed")
        finally:
            for replica in topology.replicas():
                replica.resume()
        status = await cache.get_task_status("unconfirmed")  # it ran on the master
        assert status is not None


def _promotion(topology: SentinelSet, old_port: int) -> float:
    """When the sentinels first name another master (polled from a thread)."""
    topology.wait_for(lambda: topology.master().port != old_port, timeout=60)
    return time.monotonic()


async def _recovery(cache: CacheManager, load: Load) -> float:
    """When a cache write and an enqueue first succeed again."""
    probe = uuid4()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await cache.cache_project_data(probe, {"p": 1}):
            try:
                await cache.enqueue_task("probe", "work", {})
            except BackendError:
                pass
            else:
                return time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError("operations did not work again within 60 s")


async def test_a_demoted_master_is_left_for_the_promoted_one(topology: SentinelSet) -> None:
    # SENTINEL FAILOVER: the old master stays up and becomes a replica (READONLY to writes),
    # so only the sentinel's announcement or the READONLY reply can move the client.
    async with CacheManager(failover_settings(topology)) as cache:
        executor = cache._require().executor
        assert executor is not None
        router = executor.router
        assert isinstance(router, SentinelRouter)
        project = uuid4()
        assert await cache.cache_project_data(project, {"n": 0})
        old = topology.master()
        topology.sentinel("SENTINEL", "FAILOVER", topology.service)
        await asyncio.to_thread(_promotion, topology, old.port)
        deadline = time.monotonic() + 30
        while router.switches == 0 and time.monotonic() < deadline:
            await cache.cache_project_data(project, {"n": 1})  # degrades, never raises
            await asyncio.sleep(0.02)
        assert router.switches == 1
        assert router.pool.endpoint.port == topology.master().port
        assert await cache.cache_project_data(project, {"n": 2})
        assert await cache.enqueue_task(QUEUE, "work", {})  # a replica confirms it again
