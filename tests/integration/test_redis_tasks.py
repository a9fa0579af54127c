"""Redis-only properties of task queues: round trips, keys, atomicity, dedicated waits."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from uuid import uuid4

import pytest
import redis

from jeex_cache import BackendError, CacheManager, Settings, TaskContext, TaskStatus, Worker
from jeex_cache.core.retry import RetryPolicy
from tests.conftest import eventually
from tests.integration.conftest import RoundTrips

QUEUE = "jobs"


async def noop(ctx: TaskContext, payload: Any) -> None:
    return None


async def test_every_task_operation_is_one_round_trip(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    tasks = cache.task_queue
    task_id = await cache.enqueue_task(QUEUE, "noop")  # an ID that names its queue
    assert await round_trips.of(lambda: cache.enqueue_task(QUEUE, "noop", {"a": 1})) == 1
    assert await round_trips.of(lambda: cache.get_task_status(task_id)) == 1
    delivery = (await tasks.claim(QUEUE, "w", 30)).delivery
    assert delivery is not None
    await tasks.complete(delivery, None)
    delivery = (await tasks.claim(QUEUE, "w", 30)).delivery
    assert delivery is not None
    assert await round_trips.of(lambda: tasks.claim(QUEUE, "w", 30)) == 1  # an empty claim too
    assert await round_trips.of(lambda: tasks.extend(QUEUE, [delivery], 30)) == 1
    assert await round_trips.of(lambda: tasks.fail(delivery, "boom", 0)) == 1
    second = (await tasks.claim(QUEUE, "w", 30)).delivery
    assert second is not None
    assert await round_trips.of(lambda: tasks.release(second)) == 1
    third = (await tasks.claim(QUEUE, "w", 30)).delivery
    assert third is not None
    assert await round_trips.of(lambda: tasks.complete(third, "ok")) == 1
    cancelled = await cache.enqueue_task(QUEUE, "noop", max_attempts=1)
    assert await round_trips.of(lambda: cache.cancel_task(cancelled)) == 1
    await cache.enqueue_task(QUEUE, "noop", max_attempts=1)
    last = (await tasks.claim(QUEUE, "w", 30)).delivery
    assert last is not None
    await tasks.fail(last, "boom", 0)
    assert await round_trips.of(lambda: cache.list_dead_tasks(QUEUE)) == 1
    assert await round_trips.of(lambda: cache.requeue_dead_tasks(QUEUE)) == 1


async def test_a_caller_chosen_id_costs_a_pointer_step(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    # The pointer ``task:{<id>}`` (its own slot) is written before the queue's script.
    assert await round_trips.of(lambda: cache.enqueue_task(QUEUE, "noop", task_id="rt-1")) == 2
    assert await round_trips.of(lambda: cache.get_task_status("rt-1")) == 2
    # Cancelling: the pointer, the queue's script, then the pointer's expiry with the record.
    assert await round_trips.of(lambda: cache.cancel_task("rt-1")) == 3


async def test_a_busy_worker_spends_one_round_trip_per_task(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    for n in range(50):
        await cache.enqueue_task(QUEUE, "noop", n)
    runner = Worker(cache, QUEUE, {"noop": noop}, burst=True)
    # The durability check (its INFO), a claim, then 50 acknowledgements that each claim the
    # next task (the last finds none), then the claim that finds the queue empty.
    assert await round_trips.of(runner.run) == 1 + 1 + 50 + 1
    assert runner.stats.succeeded == 50


async def test_a_busy_worker_acknowledges_and_claims_in_batches(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    for n in range(200):
        await cache.enqueue_task(QUEUE, "noop", n)
    runner = Worker(cache, QUEUE, {"noop": noop}, concurrency=8, burst=True)
    # One claim fills the eight slots; the slots that finish in one turn of the loop are
    # acknowledged together with their next tasks claimed: far fewer scripts than tasks.
    assert await round_trips.of(runner.run) <= 200 // 4
    assert runner.stats.succeeded == runner.stats.claimed == 200


async def test_a_single_run_once_is_a_claim_and_an_acknowledgement(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    for n in range(3):
        await cache.enqueue_task(QUEUE, "noop", n)
    runner = Worker(cache, QUEUE, {"noop": noop})
    for _ in range(3):
        assert await round_trips.of(runner.run_once) == 2


async def test_keys_and_expiry(cache: CacheManager, raw: redis.Redis) -> None:
    task_id = await cache.enqueue_task(QUEUE, "noop", task_id="k-1")
    later = await cache.enqueue_task(QUEUE, "noop", delay=3600)
    assert sorted(raw.scan_iter("*")) == [
        b"jeex:queue:{jobs}",  # scheduled: the delayed task
        b"jeex:queue:{jobs}:fifo",
        b"jeex:queue:{jobs}:meta",
        b"jeex:queue:{jobs}:prio",
        b"jeex:queue:{jobs}:rec",
        b"jeex:queue:{jobs}:ring",
        b"jeex:queue:{jobs}:wake",
        b"jeex:task:{k-1}",
    ]
    assert raw.pttl("jeex:task:{k-1}") == -1  # waiting tasks never expire
    await Worker(cache, QUEUE, {"noop": noop}, burst=True).run()
    ttl = raw.pttl("jeex:task:{k-1}")  # the pointer expires with the record
    assert 86_000_000 < ttl <= 86_400_000
    expires = raw.zscore("jeex:queue:{jobs}:expiry", task_id)
    assert expires is not None
    assert raw.zcard("jeex:queue:{jobs}:prio") == raw.zcard("jeex:queue:{jobs}:running") == 0
    assert raw.zrange("jeex:queue:{jobs}", 0, -1) == [later.encode()]
    assert raw.hget("jeex:queue:{jobs}:rec", f"{task_id}|s") == b"succeeded"


async def test_expired_records_are_swept_by_later_calls(
    cache: CacheManager, raw: redis.Redis
) -> None:
    done = await cache.enqueue_task(QUEUE, "noop")
    await Worker(cache, QUEUE, {"noop": noop}, burst=True).run()
    raw.zadd("jeex:queue:{jobs}:expiry", {done: 1})  # as if its status TTL had passed
    raw.hset("jeex:queue:{jobs}:rec", f"{done}|x", 1)
    assert await cache.get_task_status(done) is None
    reader: Any = raw  # redis-py types its synchronous replies from 8.0 on only
    fields: list[bytes] = reader.hkeys("jeex:queue:{jobs}:rec")
    assert not [f for f in fields if f.startswith(done.encode())]
    assert raw.zcard("jeex:queue:{jobs}:expiry") == 0


async def test_concurrent_enqueues_of_one_id_queue_it_once(
    redis_url: str, raw: redis.Redis
) -> None:
    managers = [CacheManager(Settings(redis_url=redis_url)) for _ in range(4)]
    for manager in managers:
        await manager.initialize()
    try:
        ids = await asyncio.gather(
            *(
                managers[n % 4].enqueue_task(QUEUE, "noop", n, task_id=f"same-{n % 20}")
                for n in range(400)
            )
        )
    finally:
        for manager in managers:
            await manager.close()
    assert sorted(set(ids)) == sorted(f"same-{n}" for n in range(20))
    assert raw.zcard("jeex:queue:{jobs}:prio") == 20
    assert len(list(raw.scan_iter("jeex:task:*"))) == 20


async def test_a_failed_enqueue_leaves_nothing_behind(
    cache: CacheManager, raw: redis.Redis
) -> None:
    raw.set("jeex:queue:{jobs}:prio", "not a sorted set")  # a command in the script fails
    with pytest.raises(BackendError):
        await cache.enqueue_task(QUEUE, "noop")
    assert raw.hlen("jeex:queue:{jobs}:rec") == 0
    assert cache.failure_tracker.failures["enqueue_task"] == 1


async def test_an_idle_worker_does_not_hold_a_pooled_connection(redis_url: str) -> None:
    """One pooled connection: a worker blocked waiting must leave it to the callers."""
    settings = Settings(redis_url=redis_url, redis_max_connections=1, redis_pool_timeout=0.2)
    done = asyncio.Event()

    async def finish(ctx: TaskContext, payload: Any) -> None:
        done.set()

    async with CacheManager(settings) as manager:
        runner = Worker(manager, QUEUE, {"finish": finish}, max_wait=30)
        running = asyncio.create_task(runner.run())
        try:
            await asyncio.sleep(0.2)  # the worker is blocked in its wait by now
            task_id = await manager.enqueue_task(QUEUE, "finish")
            async with asyncio.timeout(10):
                await done.wait()
            task = await manager.get_task_status(task_id)
        finally:
            runner.stop()
            async with asyncio.timeout(10):
                await running
    assert task is not None
    assert task.status in (TaskStatus.RUNNING, TaskStatus.SUCCEEDED)
    assert not manager.failure_tracker.failures


async def test_scripts_reload_after_the_server_forgets_them(
    cache: CacheManager, raw: redis.Redis
) -> None:
    raw.script_flush()
    task_id = await cache.enqueue_task(QUEUE, "noop")
    await Worker(cache, QUEUE, {"noop": noop}, burst=True).run()
    task = await cache.get_task_status(task_id)
    assert task is not None
    assert task.status is TaskStatus.SUCCEEDED


async def test_a_record_written_by_0_1_0_is_still_read_and_run(
    cache: CacheManager, raw: redis.Redis
) -> None:
    # 0.1.0 kept the name, payload and max attempts as fields of their own, not one head.
    task_id = await cache.enqueue_task(QUEUE, "echo", {"n": 7}, max_attempts=4)
    rec = "jeex:queue:{jobs}:rec"
    raw.hdel(rec, task_id)
    raw.hset(rec, mapping={
        f"{task_id}|n": "echo", f"{task_id}|p": '{"n":7}', f"{task_id}|m": 4,
        f"{task_id}|a": 0, f"{task_id}|l": 0, f"{task_id}|rd": 0, f"{task_id}|w": "old",
    })  # fmt: skip
    task = await cache.get_task_status(task_id)
    assert task is not None
    assert (task.name, task.payload, task.max_attempts) == ("echo", {"n": 7}, 4)
    seen: list[Any] = []

    async def echo(ctx: TaskContext, payload: Any) -> None:
        seen.append((ctx.attempt, payload))

    await Worker(cache, QUEUE, {"echo": echo}, burst=True).run()
    assert seen == [(1, {"n": 7})]
    done = await cache.get_task_status(task_id)
    assert done is not None
    assert done.status is TaskStatus.SUCCEEDED
    raw.zadd("jeex:queue:{jobs}:expiry", {task_id: 1})  # its status TTL passed: all swept
    raw.hset(rec, f"{task_id}|x", 1)
    assert await cache.get_task_status(task_id) is None
    reader: Any = raw  # redis-py types its synchronous replies from 8.0 on only
    assert not [f for f in reader.hkeys(rec) if f.startswith(task_id.encode())]


async def test_a_queue_of_priority_0_skips_aging_until_another_priority_is_ready(
    cache: CacheManager, raw: redis.Redis
) -> None:
    meta = "jeex:queue:{jobs}:meta"
    for _ in range(3):
        await cache.enqueue_task(QUEUE, "noop")
    assert raw.hget(meta, "tracked") == b"1"  # its first place: every ready task is seen
    assert raw.hget(meta, "mixed") is None
    await Worker(cache, QUEUE, {"noop": noop}, burst=True).run()
    assert raw.hget(meta, "n|-") is None  # no claim counted for aging
    await cache.enqueue_task(QUEUE, "noop", priority=-1)
    assert raw.hget(meta, "mixed") == b"1"


async def test_tasks_an_earlier_release_made_ready_still_age(
    cache: CacheManager, raw: redis.Redis
) -> None:
    """A queue filled before the 'tracked' flag existed may hold any priorities: every
    eighth claim still takes the oldest task, until the queue is once found empty."""
    meta = "jeex:queue:{jobs}:meta"
    old = [await cache.enqueue_task(QUEUE, "noop", priority=-100) for _ in range(2)]
    for _ in range(20):
        await cache.enqueue_task(QUEUE, "noop", priority=100)
    raw.hdel(meta, "tracked", "mixed")  # as the earlier release left them: neither
    order = []
    while (delivery := (await cache.task_queue.claim(QUEUE, "w", 30)).delivery) is not None:
        order.append(delivery.task_id)
    assert [order.index(task_id) + 1 for task_id in old] == [8, 16]
    assert raw.hget(meta, "tracked") == b"1"  # found empty: from now on every task is seen


async def test_running_counts_are_kept_from_the_first_claim_with_a_cap(
    cache: CacheManager, raw: redis.Redis
) -> None:
    meta = "jeex:queue:{jobs}:meta"
    projects = [str(uuid4()) for _ in range(3)]
    for project in projects * 2:
        await cache.enqueue_task(QUEUE, "noop", project_id=project)
    assert raw.hget(meta, "nocount") == b"1"  # its first place: no counts yet
    reader: Any = raw  # redis-py types its synchronous replies from 8.0 on only

    def counts() -> dict[bytes, bytes]:
        return {f: v for f, v in reader.hgetall(meta).items() if f.startswith(b"run|")}

    claimed = [(await cache.task_queue.claim(QUEUE, "w", 30)).delivery for _ in range(2)]
    assert counts() == {}  # none kept
    capped = (await cache.task_queue.claim(QUEUE, "w", 30, max_running=5)).delivery
    assert capped is not None
    assert raw.hget(meta, "nocount") is None  # counted from here on
    running = Counter(d.project_id for d in [*claimed, capped] if d is not None)
    assert counts() == {f"run|{p}".encode(): str(n).encode() for p, n in running.items()}


async def test_a_queue_of_an_earlier_release_keeps_its_running_counts(
    cache: CacheManager, raw: redis.Redis
) -> None:
    meta = "jeex:queue:{jobs}:meta"
    project = str(uuid4())
    for _ in range(2):
        await cache.enqueue_task(QUEUE, "noop", project_id=project)
    raw.hdel(meta, "nocount")  # as the earlier release left it: it counted all along
    first = (await cache.task_queue.claim(QUEUE, "w", 30)).delivery
    assert first is not None
    assert raw.hget(meta, f"run|{project}") == b"1"
    assert (await cache.task_queue.claim(QUEUE, "w", 30, max_running=1)).delivery is None


async def test_successes_are_published_only_while_a_caller_waits(
    cache: CacheManager, raw: redis.Redis
) -> None:
    unwatched = await cache.enqueue_task(QUEUE, "noop")
    raw.config_resetstat()
    await Worker(cache, QUEUE, {"noop": noop}, burst=True).run()
    assert "cmdstat_publish" not in raw.info("commandstats")  # nobody waited
    finished = await cache.get_task_status(unwatched)
    assert finished is not None
    assert finished.status is TaskStatus.SUCCEEDED

    watched = await cache.enqueue_task(QUEUE, "noop")
    waiting = asyncio.create_task(cache.wait_for_task(watched, 30))
    await eventually(lambda: raw.hget("jeex:queue:{jobs}:meta", "listen") == b"1")
    await Worker(cache, QUEUE, {"noop": noop}, burst=True).run()
    task = await waiting
    assert task is not None
    assert task.status is TaskStatus.SUCCEEDED
    assert raw.info("commandstats")["cmdstat_publish"]["calls"] == 1
    assert raw.hget("jeex:queue:{jobs}:meta", "listen") == b"0"  # counted out again
    with pytest.raises(TimeoutError):
        await cache.wait_for_task(await cache.enqueue_task(QUEUE, "noop"), 0.05)
    assert raw.hget("jeex:queue:{jobs}:meta", "listen") == b"0"


async def test_a_success_hides_an_earlier_attempts_error(cache: CacheManager) -> None:
    # An earlier attempt's error stays in the record, unread once the task succeeded.
    attempts: list[int] = []

    async def flaky(ctx: TaskContext, payload: Any) -> str:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("first try")
        return "ok"

    task_id = await cache.enqueue_task(QUEUE, "flaky", max_attempts=2)
    retry = RetryPolicy(delay=0.01)

    async def ran_twice() -> bool:  # a burst worker stops while the retry is not due yet
        await Worker(cache, QUEUE, {"flaky": flaky}, burst=True, retry=retry).run()
        return len(attempts) == 2

    await eventually(ran_twice)
    task = await cache.get_task_status(task_id)
    assert task is not None
    assert (task.status, task.result, task.error, task.attempts) == (
        TaskStatus.SUCCEEDED, "ok", None, 2,
    )  # fmt: skip
    assert task.updated_at == task.finished_at
