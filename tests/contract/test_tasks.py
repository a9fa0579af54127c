"""The task queue contract: every test runs on the memory backend and on real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jeex_cache import (
    CacheManager,
    InvalidIdentifierError,
    InvalidInputError,
    ManualClock,
    PayloadTooLargeError,
    SerializationError,
    Settings,
    Task,
    TaskContext,
    TaskStatus,
    Worker,
)
from jeex_cache.core.retry import RetryPolicy
from tests.conftest import Elapse

QUEUE = "emails"
FAST_RETRY = RetryPolicy(delay=0.2, multiplier=2.0)
# The tests that wait in real time on Redis (a delay must not fall due before the test looks)
# run on one Redis topology, beside the memory backend's exact clock: the scripts are the same
# on all three. Their delays leave a second of margin.
REAL_TIME = pytest.mark.parametrize("backend", ["memory", "redis"], indirect=True)


class Calls:
    """Handlers that record what they ran; ``fail`` raises, ``echo`` returns its payload."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, Any, int]] = []

    async def echo(self, ctx: TaskContext, payload: Any) -> Any:
        self.runs.append((ctx.task_id, payload, ctx.attempt))
        return {"echo": payload}

    async def fail(self, ctx: TaskContext, payload: Any) -> Any:
        self.runs.append((ctx.task_id, payload, ctx.attempt))
        raise RuntimeError(f"attempt {ctx.attempt} failed")

    def handlers(self) -> dict[str, Any]:
        return {"echo": self.echo, "fail": self.fail}


@pytest.fixture
def calls() -> Calls:
    return Calls()


def worker(manager: CacheManager, calls: Calls, **options: Any) -> Worker:
    return Worker(manager, QUEUE, calls.handlers(), **{"retry": FAST_RETRY, **options})


async def status(manager: CacheManager, task_id: str) -> Task:
    task = await manager.get_task_status(task_id)
    assert task is not None
    return task


async def test_enqueue_stores_a_queued_task(manager: CacheManager) -> None:
    task_id = await manager.enqueue_task(QUEUE, "echo", {"to": "a@example.com"})
    task = await status(manager, task_id)
    assert (task.task_id, task.queue, task.name) == (task_id, QUEUE, "echo")
    assert task.payload == {"to": "a@example.com"}
    assert (task.status, task.attempts, task.max_attempts) == (TaskStatus.QUEUED, 0, 3)
    assert task.created_at == task.updated_at == task.scheduled_at
    assert (task.started_at, task.finished_at, task.result, task.error) == (None,) * 4


async def test_the_same_task_id_is_queued_once(manager: CacheManager, calls: Calls) -> None:
    first = await manager.enqueue_task(QUEUE, "echo", 1, task_id="order-42")
    again = await manager.enqueue_task(QUEUE, "echo", 2, task_id="order-42")
    assert first == again == "order-42"
    await worker(manager, calls, burst=True).run()
    assert calls.runs == [("order-42", 1, 1)]
    # Once run, the ID stays taken while its status is kept.
    await manager.enqueue_task(QUEUE, "echo", 3, task_id="order-42")
    await worker(manager, calls, burst=True).run()
    assert len(calls.runs) == 1


async def test_worker_runs_tasks_and_keeps_their_results(
    manager: CacheManager, calls: Calls
) -> None:
    ids = [await manager.enqueue_task(QUEUE, "echo", n) for n in range(5)]
    runner = worker(manager, calls, burst=True)
    await runner.run()
    assert sorted(payload for _, payload, _ in calls.runs) == list(range(5))
    for n, task_id in enumerate(ids):
        task = await status(manager, task_id)
        assert (task.status, task.attempts, task.result) == (TaskStatus.SUCCEEDED, 1, {"echo": n})
        assert task.started_at is not None
        assert task.finished_at is not None
        assert task.created_at <= task.started_at <= task.finished_at
    assert (runner.stats.claimed, runner.stats.succeeded) == (5, 5)


@REAL_TIME
async def test_failures_retry_with_exponential_backoff_then_die(
    manager: CacheManager, calls: Calls, elapse: Elapse
) -> None:
    task_id = await manager.enqueue_task(QUEUE, "fail", None, max_attempts=3)
    runner = worker(manager, calls, retry=RetryPolicy(delay=1.0, multiplier=2.0))
    for attempt, backoff in ((1, 1.0), (2, 2.0)):
        assert await runner.run_once() is TaskStatus.FAILED
        task = await status(manager, task_id)
        assert (task.status, task.attempts) == (TaskStatus.FAILED, attempt)
        assert task.error == f"RuntimeError: attempt {attempt} failed"
        waited = (task.scheduled_at - task.updated_at).total_seconds()
        assert waited == pytest.approx(backoff, abs=0.002)
        assert await runner.run_once() is None  # the retry is not due yet
        await elapse(backoff + 0.05)
    assert await runner.run_once() is TaskStatus.DEAD
    task = await status(manager, task_id)
    assert (task.status, task.attempts, task.finished_at) == (TaskStatus.DEAD, 3, task.updated_at)
    assert [t.task_id for t in await manager.list_dead_tasks(QUEUE)] == [task_id]
    assert (runner.stats.retried, runner.stats.dead) == (2, 1)


async def test_dead_tasks_are_requeued_with_fresh_attempts(
    manager: CacheManager, calls: Calls
) -> None:
    task_id = await manager.enqueue_task(QUEUE, "fail", "x", max_attempts=1)
    await worker(manager, calls, burst=True).run()
    assert (await status(manager, task_id)).status is TaskStatus.DEAD
    assert await manager.requeue_dead_tasks(QUEUE, ["unknown", task_id]) == 1
    task = await status(manager, task_id)
    assert (task.status, task.attempts, task.finished_at) == (TaskStatus.QUEUED, 0, None)
    assert task.error == "RuntimeError: attempt 1 failed"  # the last error stays visible
    assert await manager.list_dead_tasks(QUEUE) == []
    assert await manager.requeue_dead_tasks(QUEUE) == 0
    fixed = Worker(manager, QUEUE, {"fail": calls.echo}, burst=True)
    await fixed.run()
    task = await status(manager, task_id)
    assert (task.status, task.attempts, task.error) == (TaskStatus.SUCCEEDED, 1, None)


async def test_requeue_every_dead_task_of_a_queue(manager: CacheManager, calls: Calls) -> None:
    ids = [await manager.enqueue_task(QUEUE, "fail", n, max_attempts=1) for n in range(3)]
    await worker(manager, calls, burst=True).run()
    dead = await manager.list_dead_tasks(QUEUE, limit=2)
    assert len(dead) == 2
    assert {t.task_id for t in dead} < set(ids)
    assert await manager.list_dead_tasks("other") == []
    assert await manager.requeue_dead_tasks(QUEUE) == 3
    assert {(await status(manager, i)).status for i in ids} == {TaskStatus.QUEUED}


@REAL_TIME
async def test_a_delayed_task_runs_once_due(
    manager: CacheManager, calls: Calls, elapse: Elapse
) -> None:
    task_id = await manager.enqueue_task(QUEUE, "echo", 1, delay=1.0)
    task = await status(manager, task_id)
    assert (task.scheduled_at - task.created_at).total_seconds() == pytest.approx(1.0, abs=0.002)
    runner = worker(manager, calls)
    assert await runner.run_once() is None
    await elapse(1.0)
    assert await runner.run_once() is TaskStatus.SUCCEEDED


async def test_cancel_a_waiting_task(manager: CacheManager, calls: Calls, elapse: Elapse) -> None:
    queued = await manager.enqueue_task(QUEUE, "echo", 1)
    retrying = await manager.enqueue_task(QUEUE, "fail", 2)
    assert await manager.cancel_task(queued) is True
    runner = worker(manager, calls)
    assert await runner.run_once() is TaskStatus.FAILED  # the other one
    assert await manager.cancel_task(retrying) is True  # while awaiting its retry
    await elapse(0.25)
    assert await runner.run_once() is None
    for task_id in (queued, retrying):
        task = await status(manager, task_id)
        assert task.status is TaskStatus.CANCELLED
        assert task.finished_at is not None
        assert await manager.cancel_task(task_id) is False
    assert [payload for _, payload, _ in calls.runs] == [2]
    assert await manager.cancel_task("never-queued") is False


async def test_running_and_finished_tasks_cannot_be_cancelled(manager: CacheManager) -> None:
    answers: list[bool] = []

    async def cancel_myself(ctx: TaskContext, payload: Any) -> None:
        answers.append(await manager.cancel_task(ctx.task_id))

    task_id = await manager.enqueue_task(QUEUE, "cancel_myself")
    await Worker(manager, QUEUE, {"cancel_myself": cancel_myself}, burst=True).run()
    assert answers == [False]
    assert await manager.cancel_task(task_id) is False
    assert (await status(manager, task_id)).status is TaskStatus.SUCCEEDED


async def test_a_lost_delivery_is_delivered_again_after_the_visibility_timeout(
    manager: CacheManager, calls: Calls, elapse: Elapse
) -> None:
    task_id = await manager.enqueue_task(QUEUE, "echo", 1)
    # A worker takes the task and dies: it never settles its delivery.
    lost = (await manager.task_queue.claim(QUEUE, "doomed", 30)).delivery
    assert lost is not None
    assert lost.attempt == 1
    runner = worker(manager, calls)
    assert await runner.run_once() is None  # still leased
    # Its last heartbeat leased it 1 ms more: the lease runs out without a wait.
    assert await manager.task_queue.extend(QUEUE, [lost], 0.001) == 1
    await elapse(0.01)
    assert await runner.run_once() is TaskStatus.SUCCEEDED
    task = await status(manager, task_id)
    assert (task.status, task.attempts, task.redeliveries) == (TaskStatus.SUCCEEDED, 2, 1)
    # The lost worker's late outcome is dropped: another delivery settled the task.
    assert await manager.task_queue.complete(lost, "late") is False
    assert (await status(manager, task_id)).result == {"echo": 1}


async def test_a_late_acknowledgement_wins_before_the_redelivery(
    manager: CacheManager, elapse: Elapse
) -> None:
    slow = await manager.enqueue_task(QUEUE, "echo", "slow")
    first = (await manager.task_queue.claim(QUEUE, "slow-worker", 0.2)).delivery
    assert first is not None
    assert first.task_id == slow
    other = await manager.enqueue_task(QUEUE, "echo", "other")
    await elapse(0.25)
    # This claim puts the slow task back and takes the other one, due earlier.
    taken = (await manager.task_queue.claim(QUEUE, "w2", 30)).delivery
    assert taken is not None
    assert taken.task_id == other
    assert (await status(manager, slow)).status is TaskStatus.QUEUED
    assert await manager.task_queue.complete(first, "done") is True
    task = await status(manager, slow)
    assert (task.status, task.result, task.redeliveries) == (TaskStatus.SUCCEEDED, "done", 1)
    assert (await manager.task_queue.claim(QUEUE, "w2", 30)).delivery is None


async def test_an_acknowledgement_can_claim_the_next_task(
    manager: CacheManager, elapse: Elapse
) -> None:
    first_id = await manager.enqueue_task(QUEUE, "echo", 1)
    second_id = await manager.enqueue_task(QUEUE, "echo", 2, delay=0.001)
    tasks = manager.task_queue
    first = (await tasks.claim(QUEUE, "w", 30)).delivery
    assert first is not None
    assert first.task_id == first_id
    await elapse(0.01)  # let the second fall due
    completed, claim = await tasks.complete_and_claim(first, "one", "w", 30)
    assert completed is True
    assert claim.delivery is not None
    assert claim.delivery.task_id == second_id
    assert (await status(manager, first_id)).result == "one"
    # A superseded delivery's outcome is dropped; the claim still happens (nothing is due).
    completed, claim = await tasks.complete_and_claim(first, "again", "w", 30)
    assert (completed, claim.delivery) == (False, None)
    assert (await status(manager, second_id)).status is TaskStatus.RUNNING


async def test_a_lost_last_attempt_is_dead(manager: CacheManager, elapse: Elapse) -> None:
    task_id = await manager.enqueue_task(QUEUE, "echo", 1, max_attempts=1)
    assert (await manager.task_queue.claim(QUEUE, "doomed", 0.2)).delivery is not None
    await elapse(0.25)
    assert (await manager.task_queue.claim(QUEUE, "w2", 30)).delivery is None
    task = await status(manager, task_id)
    assert task.status is TaskStatus.DEAD
    assert task.error == "lost: no acknowledgement within the visibility timeout (attempt 1)"
    assert [t.task_id for t in await manager.list_dead_tasks(QUEUE)] == [task_id]


async def test_stop_returns_an_unfinished_task_to_the_queue(manager: CacheManager) -> None:
    started = asyncio.Event()

    async def hang(ctx: TaskContext, payload: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    task_id = await manager.enqueue_task(QUEUE, "hang")
    runner = Worker(manager, QUEUE, {"hang": hang}, shutdown_timeout=0.05)
    running = asyncio.create_task(runner.run())
    async with asyncio.timeout(10):
        await started.wait()
        runner.stop()
        await running
    task = await status(manager, task_id)
    assert (task.status, task.attempts) == (TaskStatus.QUEUED, 0)  # not counted
    assert runner.stats.released == 1
    assert (await manager.task_queue.claim(QUEUE, "next", 30)).delivery is not None


async def test_stop_lets_the_running_task_finish(manager: CacheManager) -> None:
    started, go = asyncio.Event(), asyncio.Event()

    async def slow(ctx: TaskContext, payload: Any) -> str:
        started.set()
        await go.wait()
        return "finished"

    task_id = await manager.enqueue_task(QUEUE, "slow")
    runner = Worker(manager, QUEUE, {"slow": slow}, shutdown_timeout=30)
    running = asyncio.create_task(runner.run())
    async with asyncio.timeout(10):
        await started.wait()
        runner.stop()
        go.set()
        await running
    assert (await status(manager, task_id)).result == "finished"


async def test_an_idle_worker_is_woken_by_a_new_task(manager: CacheManager) -> None:
    """With a 60 s wait between claims, only the wake-up can deliver within the bound."""
    done: asyncio.Queue[str] = asyncio.Queue()

    async def note(ctx: TaskContext, payload: Any) -> None:
        await done.put(ctx.task_id)

    runner = Worker(manager, QUEUE, {"note": note}, max_wait=60)
    running = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(10):
            for _ in range(3):
                await asyncio.sleep(0.05)  # let the worker settle into its wait
                task_id = await manager.enqueue_task(QUEUE, "note")
                assert await done.get() == task_id
    finally:
        runner.stop()
        async with asyncio.timeout(10):
            await running


async def test_concurrency_runs_tasks_side_by_side(manager: CacheManager) -> None:
    together = asyncio.Barrier(4)  # only four handlers running at once pass it

    async def meet(ctx: TaskContext, payload: Any) -> None:
        await together.wait()

    ids = [await manager.enqueue_task(QUEUE, "meet", n) for n in range(8)]
    async with asyncio.timeout(10):
        await Worker(manager, QUEUE, {"meet": meet}, concurrency=4, burst=True).run()
    assert {(await status(manager, i)).status for i in ids} == {TaskStatus.SUCCEEDED}


async def test_progress_goes_to_the_reporter_under_the_task_id(manager: CacheManager) -> None:
    reported: list[tuple[str, int, str]] = []

    async def reporter(correlation_id: str, step: int, message: str, /) -> None:
        reported.append((correlation_id, step, message))

    async def steps(ctx: TaskContext, payload: Any) -> None:
        await ctx.report_progress(1, "half way")
        await ctx.report_progress(2, "done")

    task_id = await manager.enqueue_task(QUEUE, "steps")
    await Worker(manager, QUEUE, {"steps": steps}, burst=True, progress=reporter).run()
    assert reported == [(task_id, 1, "half way"), (task_id, 2, "done")]


@pytest.mark.parametrize(
    ("handler", "error", "task_timeout"),
    [
        ("missing", "LookupError: no handler for task 'missing' on this worker", 30),
        ("bad_result", "SerializationError: value is not JSON-serialisable", 30),
        ("too_slow", "TimeoutError: ", 0.05),
    ],
)
async def test_handler_problems_fail_the_attempt(
    manager: CacheManager, handler: str, error: str, task_timeout: float
) -> None:
    async def bad_result(ctx: TaskContext, payload: Any) -> Any:
        return {1, 2}

    async def too_slow(ctx: TaskContext, payload: Any) -> None:
        await asyncio.sleep(30)

    handlers = {"bad_result": bad_result, "too_slow": too_slow}
    task_id = await manager.enqueue_task(QUEUE, handler, max_attempts=1)
    runner = Worker(manager, QUEUE, handlers, task_timeout=task_timeout)
    assert await runner.run_once() is TaskStatus.DEAD
    task = await status(manager, task_id)
    assert task.error is not None
    assert task.error.startswith(error)


@pytest.mark.parametrize(
    ("arguments", "options", "error"),
    [
        (("bad queue", "echo", 1), {}, InvalidIdentifierError),
        ((QUEUE, "bad:name", 1), {}, InvalidIdentifierError),
        ((QUEUE, "echo", 1), {"task_id": "a{b}"}, InvalidIdentifierError),
        ((QUEUE, "echo", 1), {"max_attempts": 0}, InvalidInputError),
        ((QUEUE, "echo", 1), {"max_attempts": True}, InvalidInputError),
        ((QUEUE, "echo", 1), {"delay": -1}, InvalidInputError),
        ((QUEUE, "echo", 1), {"delay": float("nan")}, InvalidInputError),
        ((QUEUE, "echo", 1), {"delay": "soon"}, InvalidInputError),
        ((QUEUE, "echo", 1), {"project_id": "project 1"}, InvalidIdentifierError),
        ((QUEUE, "echo", {1, 2}), {}, SerializationError),
        ((QUEUE, "echo", "x" * 2_000_000), {}, PayloadTooLargeError),
    ],
)
async def test_bad_input_raises_and_stores_nothing(
    manager: CacheManager, arguments: tuple[Any, ...], options: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        await manager.enqueue_task(*arguments, **{"task_id": "t-1", **options})
    assert await manager.get_task_status("t-1") is None
    assert (await manager.task_queue.claim(QUEUE, "w", 30)).delivery is None


async def test_bad_identifiers_in_queries_raise(manager: CacheManager) -> None:
    with pytest.raises(InvalidIdentifierError):
        await manager.get_task_status("a b")
    with pytest.raises(InvalidIdentifierError):
        await manager.cancel_task("")
    with pytest.raises(InvalidIdentifierError):
        await manager.list_dead_tasks("queue:{x}")
    with pytest.raises(InvalidInputError):
        await manager.list_dead_tasks(QUEUE, limit=0)
    with pytest.raises(InvalidInputError):
        await manager.requeue_dead_tasks(QUEUE, "one-id")


@pytest.fixture
async def short_lived(settings: Settings, clock: ManualClock) -> AsyncIterator[CacheManager]:
    """A manager whose finished tasks are kept one second."""
    async with CacheManager(
        settings.model_copy(update={"cache_task_status_ttl": 1}), clock=clock
    ) as m:
        yield m


async def test_finished_tasks_expire_and_waiting_ones_do_not(
    short_lived: CacheManager, calls: Calls, elapse: Elapse
) -> None:
    done = await short_lived.enqueue_task(QUEUE, "echo", 1)
    await worker(short_lived, calls, burst=True).run()
    waiting = await short_lived.enqueue_task(QUEUE, "echo", 2, delay=60)
    await elapse(1.1)
    assert await short_lived.get_task_status(done) is None
    assert (await status(short_lived, waiting)).status is TaskStatus.QUEUED
    # The ID is free again once its status has expired.
    assert await short_lived.enqueue_task(QUEUE, "echo", 3, task_id=done) == done
    assert (await status(short_lived, done)).payload == 3
