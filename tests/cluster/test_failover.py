"""A master SIGKILLed under a mixed load: the client follows the promoted replica.

What the failure table promises (docs/operations.md) is all a caller sees: reads miss, writes
return False, session validation denies, rate limits fail open, progress is a no-op, tag
invalidation reports the failure, and a durable enqueue raises ``BackendError`` (the caller
knows the task may not be queued). Nothing else raises, no call hangs, and once the replica is
promoted every operation works again. Workers run through the kill: every task whose enqueue
was acknowledged is processed, none is lost. The killed master is the one that owns the task
queue's slot, so the queue itself fails over. The figures (promotion, recovery, failed calls
per family, enqueues acknowledged and refused, tasks lost) are printed for the closing note.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import (
    BackendError,
    CacheManager,
    ProgressOutcome,
    RateLimitConfig,
    ReplicationTimeoutError,
    Settings,
    TaskContext,
    Worker,
    outcome_of,
)
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.transport import key_slot
from jeex_cache.tasks.keys import task_queue
from jeex_cache.testing import RedisCluster
from tests.cluster.conftest import ids_in_slot, promoted, router_of

POLICY = RateLimitConfig(10**7, 60)
AFTER_PROMOTION = 6.0  # seconds of load after the promotion
CALL_BOUND = 3.0  # seconds: no call may take longer, failover or not
QUEUE = "failover"
TAG = "load"


def failover_settings(cluster: RedisCluster) -> Settings:
    return Settings(
        redis_url=cluster.url,
        redis_connect_timeout=0.25,
        circuit_breaker_reset_timeout=0.2,
        retry_delay=0.01,
        cache_request_deadline=0.3,
        redis_wait_timeout=500,
    )


@pytest.fixture
def failover_cluster() -> Iterator[RedisCluster]:
    """A cluster of this test alone, two replicas per master: after the promotion one is left
    to confirm the durable enqueues (WAIT 1), so enqueue works again too."""
    with RedisCluster.start(replicas=2) as own:
        yield own


class Load:
    """Callers in a loop, each call timed and judged ok or degraded; nothing may escape."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, str, bool]] = []  # start, duration, name, ok
        self.escaped: list[BaseException] = []
        self.stop = asyncio.Event()

    async def run(self, name: str, call: Callable[[], Awaitable[bool]]) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                ok = await call()
            except Exception as exc:  # what escapes is the test's subject
                self.escaped.append(exc)
                ok = False
            self.calls.append((start, time.monotonic() - start, name, ok))
            await asyncio.sleep(0.002)


@pytest.mark.usefixtures("caplog")
async def test_a_master_killed_under_load_fails_over(
    failover_cluster: RedisCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "jeex_cache")
    cluster = failover_cluster
    rng = random.Random(12)
    queue_slot = key_slot(str(task_queue(QUEUE)))  # every key of the queue is in this slot
    processed: set[str] = set()
    acknowledged: list[str] = []
    refused: list[BaseException] = []

    async def handle(ctx: TaskContext, payload: Any) -> None:
        processed.add(ctx.task_id)

    async with CacheManager(failover_settings(cluster)) as cache:
        projects = [uuid4() for _ in range(90)]
        for project in projects:
            assert await cache.cache_project_data(project, {"p": str(project)})
        tagged = ids_in_slot(queue_slot, 2) + [uuid4() for _ in range(4)]  # two on the victim
        sessions = []
        for _ in range(6):
            session = await cache.create_user_session(uuid4(), {}, [projects[0]])
            assert session is not None
            assert session.session_id is not None
            sessions.append(session.session_id)
        operations = [uuid4() for _ in range(6)]
        for cid in operations:
            await cache.start_progress_tracking(cid, 10**9)
        load = Load()

        async def read() -> bool:
            project = rng.choice(projects)
            result = await cache.read_project_data(project)
            return not result.failed and result.value == {"p": str(project)}

        async def write() -> bool:
            project = rng.choice(projects)
            return await cache.cache_project_data(project, {"p": str(project)})

        async def tag_write() -> bool:
            return await cache.cache_project_data(rng.choice(tagged), {"t": 1}, tags=[TAG])

        async def invalidate() -> bool:
            done = await outcome_of(cache.invalidate_tag_in_projects, TAG, tagged, "load")
            return not done.failed

        async def validate() -> bool:
            return await cache.validate_user_session(rng.choice(sessions)) is not None

        async def limit() -> bool:
            result = await cache.check_rate_limit(str(rng.choice(projects)), "project", POLICY)
            return "error" not in result

        async def progress() -> bool:
            outcome = (await cache.increment_progress(rng.choice(operations))).outcome
            return outcome is ProgressOutcome.APPLIED

        async def enqueue() -> bool:
            try:
                acknowledged.append(await cache.enqueue_task(QUEUE, "work", {}))
            except BackendError as exc:  # the table: the caller knows it may not be queued
                refused.append(exc)
                return False
            return True

        families = {"read": read, "write": write, "tag_write": tag_write,
                    "invalidate": invalidate, "validate": validate, "rate_limit": limit,
                    "progress": progress, "enqueue": enqueue}  # fmt: skip
        retry = RetryPolicy(delay=0.1, multiplier=2.0)
        workers = [
            Worker(cache, QUEUE, {"work": handle}, concurrency=4, visibility_timeout=3.0,
                   max_wait=1.0, retry=retry)
            for _ in range(2)
        ]  # fmt: skip
        running = [asyncio.create_task(worker.run()) for worker in workers]
        callers = [
            asyncio.create_task(load.run(name, call))
            for name, call in families.items()
            for _ in range(3 if name != "invalidate" else 1)
        ]
        await asyncio.sleep(1.0)
        acknowledged_before = len(acknowledged)
        processed_before = len(processed)
        victim = cluster.master_of(queue_slot)  # the queue fails over, not only the cache
        killed_at = time.monotonic()
        cluster.kill(victim)
        promoted_at = await asyncio.to_thread(promoted, cluster, victim)
        assert cluster.master_of(queue_slot) != victim
        await asyncio.sleep(AFTER_PROMOTION)
        load.stop.set()
        await asyncio.gather(*callers)
        # Every project, on every slot, works again; so does the queue.
        for project in projects:
            assert await cache.cache_project_data(project, {"p": str(project)})
            assert await cache.get_project_data(project) == {"p": str(project)}
        acknowledged.append(await cache.enqueue_task(QUEUE, "work", {}))
        deadline = time.monotonic() + 60
        while not set(acknowledged) <= processed and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the workers fill ``processed``; this reads it
        assert not any(task.done() for task in running)  # the workers lived through the kill
        for worker in workers:
            worker.stop()
        await asyncio.gather(*running)
        refreshes = router_of(cache).refreshes

    lost = set(acknowledged) - processed
    failed = [call for call in load.calls if not call[3]]
    per_family = Counter(name for _, _, name, ok in load.calls if not ok)
    totals = Counter(name for _, _, name, _ in load.calls)
    last_failure = max((start + took for start, took, _, _ in failed), default=killed_at)
    last_refusal = max(
        (start + took for start, took, name, ok in load.calls if name == "enqueue" and not ok),
        default=killed_at,
    )
    slowest = max(took for _, took, _, _ in load.calls)
    timeouts = sum(isinstance(exc, ReplicationTimeoutError) for exc in refused)
    print(
        f"\nfailover: promoted {promoted_at - killed_at:.2f}s after the kill; last failed call "
        f"{last_failure - killed_at:.2f}s after the kill ({last_failure - promoted_at:+.2f}s "
        f"from the promotion), last refused enqueue {last_refusal - killed_at:.2f}s after it; "
        f"failed calls {dict(per_family)} of {dict(totals)}; enqueues acknowledged "
        f"{len(acknowledged)} ({acknowledged_before} before the kill), refused {len(refused)} "
        f"({timeouts} ReplicationTimeoutError), lost {len(lost)}; processed {len(processed)} "
        f"({processed_before} before the kill); slowest call {slowest:.3f}s; slot-map "
        f"refreshes {refreshes}"
    )
    assert not load.escaped, load.escaped[:3]
    assert acknowledged_before > 0  # the queue was busy at the kill
    assert processed_before > 0
    assert lost == set(), sorted(lost)[:5]  # every acknowledged task was processed
    assert all(isinstance(exc, BackendError) for exc in refused)
    assert slowest < CALL_BOUND
    assert last_failure - promoted_at < 5.0  # working again within a few seconds
    late = [call for call in load.calls if call[0] > promoted_at + 5.0]
    assert {name for _, _, name, _ in late} == set(families)  # every family ran late
    assert all(ok for _, _, _, ok in late)
    texts = " ".join(record.getMessage() for record in caplog.records)
    texts += " ".join(str(exc) for exc in refused)
    for symptom in ("CROSSSLOT", "READONLY", "MOVED", "Traceback"):
        assert symptom not in texts  # routing errors never reach the table: only the outage
