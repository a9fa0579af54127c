"""Task queues for many tenants, on memory and on Redis: per-project turns, priorities with
aging, per-project concurrency caps, and ``wait_for_task``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
import redis

from jeex_cache import (
    CacheManager,
    InvalidInputError,
    ManualClock,
    TaskContext,
    TaskStatus,
    Worker,
)
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.tasks.model import Delivery
from tests.conftest import Elapse, eventually

QUEUE = "jobs"


async def _claim(manager: CacheManager, **options: Any) -> Delivery | None:
    return (await manager.task_queue.claim(QUEUE, "w", 30, **options)).delivery


async def test_a_small_tenant_starts_within_twice_its_count_behind_a_bulk_one(
    manager: CacheManager,
) -> None:
    bulk, small = str(uuid4()), str(uuid4())
    for n in range(2_000):
        await manager.enqueue_task(QUEUE, "run", n, project_id=bulk)
    for n in range(20):
        await manager.enqueue_task(QUEUE, "run", n, project_id=small)
    order: list[str | None] = []

    async def run(ctx: TaskContext, payload: Any) -> None:
        task = await manager.get_task_status(ctx.task_id)
        assert task is not None
        order.append(task.project_id)
        if len(order) == 40:
            worker.stop()

    worker = Worker(manager, QUEUE, {"run": run}, concurrency=1)
    await worker.run()
    assert order[:40].count(small) == 20  # all 20 ran within the first 2 x 20 claims
    assert order[:40].count(bulk) == 20


async def _enqueue_two_projects_and_none(manager: CacheManager) -> tuple[str, str]:
    """Six tasks of a project, three without one and three of another: (the projects)."""
    a, b = str(uuid4()), str(uuid4())
    for project in [a] * 6 + [None] * 3 + [b] * 3:
        await manager.enqueue_task(QUEUE, "run", None, project_id=project)
    return a, b


async def test_projects_take_turns_and_tasks_without_one_form_a_group(
    manager: CacheManager,
) -> None:
    a, b = await _enqueue_two_projects_and_none(manager)
    seen = []
    while (delivery := await _claim(manager)) is not None:
        seen.append(delivery.project_id)
        assert await manager.task_queue.complete(delivery, None)
    assert seen == [a, None, b, a, None, b, a, None, b, a, a, a]


async def test_one_batched_claim_takes_the_same_turns_as_single_claims(
    manager: CacheManager,
) -> None:
    a, b = await _enqueue_two_projects_and_none(manager)
    settled = await manager.settle_tasks(QUEUE, (), "w", 30, 20)
    seen = [delivery.project_id for delivery in settled.deliveries]
    assert seen == [a, None, b, a, None, b, a, None, b, a, a, a]


async def test_one_batched_claim_of_as_many_projects_takes_one_task_of_each_in_turn(
    manager: CacheManager,
) -> None:
    projects = [str(uuid4()) for _ in range(40)]
    for project in projects * 2:
        await manager.enqueue_task(QUEUE, "run", None, project_id=project)
    first = await manager.settle_tasks(QUEUE, (), "w", 30, 40)
    assert [delivery.project_id for delivery in first.deliveries] == projects
    second = await manager.settle_tasks(QUEUE, (), "w", 30, 80)
    assert [delivery.project_id for delivery in second.deliveries] == projects


async def test_one_batched_claim_stops_a_project_at_its_cap(manager: CacheManager) -> None:
    busy, other = str(uuid4()), str(uuid4())
    for project in [busy] * 4 + [other] * 3:
        await manager.enqueue_task(QUEUE, "run", None, project_id=project)
    settled = await manager.settle_tasks(QUEUE, (), "w", 30, 10, max_running=2)
    seen = [delivery.project_id for delivery in settled.deliveries]
    assert seen == [busy, other, busy, other]


async def test_a_projects_tasks_run_by_priority_higher_first(manager: CacheManager) -> None:
    ids = {}
    for label, priority in [("p0", 0), ("p5a", 5), ("p1", 1), ("p5b", 5), ("n2", -2)]:
        ids[await manager.enqueue_task(QUEUE, "run", label, priority=priority)] = label
    order = []
    while (delivery := await _claim(manager)) is not None:
        order.append(ids[delivery.task_id])
    assert order == ["p5a", "p5b", "p1", "p0", "n2"]
    task = await manager.get_task_status(next(iter(ids)))
    assert task is not None
    assert task.priority == 0


async def test_a_low_priority_task_does_not_starve(manager: CacheManager) -> None:
    low = await manager.enqueue_task(QUEUE, "run", "low", priority=-100)
    for _ in range(3):
        await manager.enqueue_task(QUEUE, "run", "high", priority=100)
    claims = 0
    while True:
        delivery = await _claim(manager)
        assert delivery is not None
        claims += 1
        if delivery.task_id == low:
            break
        await manager.enqueue_task(QUEUE, "run", "high", priority=100)  # a steady stream
    assert claims == 8  # the promise: every 8th claim takes the oldest task


async def test_every_eighth_claim_takes_the_oldest_task(manager: CacheManager) -> None:
    """The number is the documented promise, written out: not the code's constant."""
    old = [await manager.enqueue_task(QUEUE, "run", f"old{n}", priority=-100) for n in range(3)]
    for _ in range(30):
        await manager.enqueue_task(QUEUE, "run", "high", priority=100)
    order = []
    while (delivery := await _claim(manager)) is not None:
        order.append(delivery.task_id)
    assert [order.index(task_id) + 1 for task_id in old] == [8, 16, 24]


async def test_bad_priorities_are_refused(manager: CacheManager) -> None:
    for bad in (1.5, True, 10**7, "1"):
        with pytest.raises(InvalidInputError):
            await manager.enqueue_task(QUEUE, "run", priority=bad)  # type: ignore[arg-type]


async def test_a_cap_holds_a_project_back_until_a_slot_frees(
    manager: CacheManager, elapse: Elapse
) -> None:
    busy, other = str(uuid4()), str(uuid4())
    for _ in range(4):
        await manager.enqueue_task(QUEUE, "run", None, project_id=busy)
    await manager.enqueue_task(QUEUE, "run", None, project_id=other)
    tasks = manager.task_queue
    first = (await tasks.claim(QUEUE, "w", 30, max_running=2)).delivery
    second = await _claim(manager, max_running=2)
    third = await _claim(manager, max_running=2)
    assert first is not None
    assert second is not None
    assert third is not None
    assert [first.project_id, second.project_id, third.project_id] == [busy, other, busy]
    assert await _claim(manager, max_running=2) is None  # busy runs 2: it waits
    assert await tasks.complete(third, None)
    freed = await _claim(manager, max_running=2)
    assert freed is not None
    assert freed.project_id == busy
    assert await _claim(manager, max_running=2) is None
    # The first lease expires (a last heartbeat of 1 ms: no wait): its slot frees, it goes back.
    assert await tasks.extend(QUEUE, [first], 0.001) == 1
    await elapse(0.01)
    again = await _claim(manager, max_running=2)
    assert again is not None
    assert again.project_id == busy
    assert again.task_id != first.task_id
    assert await _claim(manager, max_running=2) is None
    lost = await manager.get_task_status(first.task_id)
    assert lost is not None
    assert (lost.status, lost.redeliveries) == (TaskStatus.QUEUED, 1)


async def test_a_cap_counts_what_ran_before_any_claim_asked_for_one(
    manager: CacheManager,
) -> None:
    """Redis keeps running counts per project from the first claim with a cap: that claim
    counts the deliveries already running, so the cap holds at once."""
    busy, other = str(uuid4()), str(uuid4())
    for project in [busy] * 4 + [other]:
        await manager.enqueue_task(QUEUE, "run", None, project_id=project)
    tasks = manager.task_queue
    uncapped = [await _claim(manager) for _ in range(3)]
    assert [d.project_id if d else None for d in uncapped] == [busy, other, busy]
    first, done, _ = uncapped
    assert done is not None
    assert await tasks.complete(done, None)  # an uncounted delivery ends: nothing is left
    assert await _claim(manager, max_running=2) is None  # busy runs 2
    assert first is not None
    assert await tasks.complete(first, None)
    freed = await _claim(manager, max_running=2)
    assert freed is not None
    assert freed.project_id == busy
    assert await _claim(manager, max_running=2) is None


async def test_a_cap_holds_on_a_queue_whose_first_task_was_delayed(
    manager: CacheManager, elapse: Elapse
) -> None:
    """The queue takes its first ready place inside a claim (a delayed task falling due):
    what that claim leases is counted as every later claim counts, so a task that ended
    never holds a slot of its project."""
    project = str(uuid4())
    await manager.enqueue_task(QUEUE, "run", None, project_id=project, delay=0.01)
    await elapse(0.05)
    first = await _claim(manager)  # its claim makes the delayed task ready, then leases it
    assert first is not None
    assert await manager.task_queue.complete(first, None)
    await manager.enqueue_task(QUEUE, "run", None, project_id=project)
    assert await _claim(manager, max_running=1) is not None  # none of the project runs


async def test_a_workers_cap_comes_from_the_setting_or_its_argument(
    manager: CacheManager,
) -> None:
    project = str(uuid4())
    for _ in range(3):
        await manager.enqueue_task(QUEUE, "run", None, project_id=project)
    running = 0
    peak = 0
    release = asyncio.Event()

    async def run(ctx: TaskContext, payload: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    worker = Worker(manager, QUEUE, {"run": run}, concurrency=3, max_running_per_project=1)
    task = asyncio.create_task(worker.run())
    await eventually(lambda: running == 1)
    await asyncio.sleep(1.0)  # time for the other two to start, were the cap not held
    release.set()
    await eventually(lambda: worker.stats.succeeded == 3)
    worker.stop()
    await task
    assert (peak, worker.stats.succeeded) == (1, 3)
    with pytest.raises(InvalidInputError):
        Worker(manager, QUEUE, {"run": run}, max_running_per_project=-1)


async def test_wait_for_task_returns_the_finished_task(manager: CacheManager) -> None:
    async def ok(ctx: TaskContext, payload: Any) -> Any:
        return {"done": payload}

    async def bad(ctx: TaskContext, payload: Any) -> Any:
        raise RuntimeError("nope")

    fast = RetryPolicy(delay=0.01, multiplier=1.0)
    worker = Worker(manager, QUEUE, {"ok": ok, "bad": bad}, retry=fast, max_wait=0.5)
    good = await manager.enqueue_task(QUEUE, "ok", 7)
    failing = await manager.enqueue_task(QUEUE, "bad", None, max_attempts=1)
    waits = asyncio.gather(
        manager.wait_for_task(good, timeout=30), manager.wait_for_task(failing, timeout=30)
    )
    await asyncio.sleep(0.05)  # both wait before the worker starts
    running = asyncio.create_task(worker.run())
    done, dead = await waits
    worker.stop()
    await running
    assert done is not None
    assert (done.status, done.result) == (TaskStatus.SUCCEEDED, {"done": 7})
    assert dead is not None
    assert dead.status is TaskStatus.DEAD
    assert dead.error == "RuntimeError: nope"
    again = await manager.wait_for_task(good, timeout=1)  # finished already: at once
    assert again is not None
    assert again.status is TaskStatus.SUCCEEDED
    assert await manager.wait_for_task("unknown-id", timeout=1) is None


async def test_wait_for_task_outlasts_the_connections_socket_timeout(
    manager: CacheManager,
) -> None:
    """A task that runs longer than ``REDIS_SOCKET_TIMEOUT`` (0.25 s) is waited for, not
    failed: the wait's reads are bounded by its own timeout, not the socket's."""

    async def slow(ctx: TaskContext, payload: Any) -> Any:
        await asyncio.sleep(1.0)
        return "late"

    worker = Worker(manager, QUEUE, {"slow": slow}, max_wait=0.5)
    task_id = await manager.enqueue_task(QUEUE, "slow", None)
    running = asyncio.create_task(worker.run())
    try:
        task = await manager.wait_for_task(task_id, timeout=60)
    finally:
        worker.stop()
        await running
    assert task is not None
    assert (task.status, task.result) == (TaskStatus.SUCCEEDED, "late")


async def test_wait_for_task_times_out_and_sees_a_cancel(manager: CacheManager) -> None:
    task_id = await manager.enqueue_task(QUEUE, "run", None, delay=60)
    with pytest.raises(TimeoutError):
        await manager.wait_for_task(task_id, timeout=0.2)
    waiting = asyncio.create_task(manager.wait_for_task(task_id, timeout=30))
    await asyncio.sleep(0.1)
    assert await manager.cancel_task(task_id)
    task = await waiting
    assert task is not None
    assert task.status is TaskStatus.CANCELLED
    with pytest.raises(InvalidInputError):
        await manager.wait_for_task(task_id, timeout=0)


# Commands that read a task's record, or could: a poll would send one of them.
READS = [
    "evalsha",
    "eval",
    "evalsha_ro",
    "eval_ro",
    "fcall",
    "fcall_ro",
    "get",
    "mget",
    "hget",
    "hmget",
    "hgetall",
    "exists",
]


def read_counter(
    backend: str, clock: ManualClock, request: pytest.FixtureRequest, monkeypatch: Any
) -> Callable[[], int]:
    """How many reads the backend has served so far: on memory the clock's readings (every
    repository operation reads the time), on Redis the read commands every node has run."""
    if backend == "memory":
        readings = 0
        time = clock.time

        def counting() -> float:
            nonlocal readings
            readings += 1
            return time()

        monkeypatch.setattr(clock, "time", counting)
        return lambda: readings
    if backend == "cluster":
        ports = list(request.getfixturevalue("redis_cluster").servers)
    elif backend == "sentinel":
        ports = [server.port for server in request.getfixturevalue("sentinel_set").servers]
    else:
        ports = [request.getfixturevalue("redis_server").port]

    def commands() -> int:
        total = 0
        for port in ports:
            with redis.Redis(port=port, socket_timeout=10) as client:
                stats = client.info("commandstats")
            total += sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in READS)
        return total

    return commands


async def test_wait_for_task_waits_on_a_notification_not_a_poll(
    manager: CacheManager,
    backend: str,
    clock: ManualClock,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the task waits, the waiter reads nothing: a poll every 250 ms would read about
    six times in the 1.5 s watched. The task's end still reaches it at once."""
    reads = read_counter(backend, clock, request, monkeypatch)
    task_id = await manager.enqueue_task(QUEUE, "run", None, delay=60)
    before = reads()
    waiting = asyncio.create_task(manager.wait_for_task(task_id, timeout=60))
    try:
        await eventually(lambda: reads() > before)  # its first read: the task is waiting
        settled = reads()
        await asyncio.sleep(1.5)
        assert (reads() - settled, waiting.done()) == (0, False)
        assert await manager.cancel_task(task_id)
        async with asyncio.timeout(10):
            task = await waiting
    finally:
        waiting.cancel()
    assert task is not None
    assert task.status is TaskStatus.CANCELLED


async def test_task_ids_name_their_queue_or_point_to_it(manager: CacheManager) -> None:
    generated = await manager.enqueue_task(QUEUE, "run", 1)
    assert generated.startswith(f"{QUEUE}=")
    own = await manager.enqueue_task(QUEUE, "run", 2, task_id="order-42")
    assert own == "order-42"
    assert await manager.enqueue_task("other", "run", 3, task_id="order-42") == "order-42"
    task = await manager.get_task_status("order-42")
    assert task is not None
    assert (task.queue, task.payload) == (QUEUE, 2)
    with pytest.raises(InvalidInputError):  # an ID naming another queue
        await manager.enqueue_task("other", "run", task_id=f"{QUEUE}=x1")
    assert await manager.cancel_task("order-42")
    assert await manager.cancel_task(generated)
