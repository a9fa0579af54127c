"""A task's progress, on both backends: under its task ID, owned by the project given at
enqueue, started anew by each attempt and ended with the task."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from jeex_cache import CacheManager, ProgressEvent, TaskContext, TaskStatus, Worker
from jeex_cache.core.retry import RetryPolicy
from tests.conftest import Elapse

QUEUE = "reports"
FAST_RETRY = RetryPolicy(delay=0.2, multiplier=2.0)
WAIT = 5.0


async def steps(ctx: TaskContext, payload: Any) -> str:
    await ctx.start_progress(3, "starting")
    for step in range(1, payload.get("steps", 3) + 1):
        await ctx.report_progress(step, f"step {step}")
    if payload.get("fail_until", 0) >= ctx.attempt:
        raise RuntimeError(f"attempt {ctx.attempt} failed")
    return "ok"


def runner(manager: CacheManager) -> Worker:
    return Worker(manager, QUEUE, {"steps": steps}, retry=FAST_RETRY)


async def events_of(manager: CacheManager, task_id: str) -> list[ProgressEvent]:
    """Every event of the task's progress; returns only because the log has ended."""
    async with asyncio.timeout(WAIT):
        return [event async for event in manager.progress_events(task_id, check_every=0.05)]


async def test_a_succeeded_task_completes_its_progress(manager: CacheManager) -> None:
    started, gate = asyncio.Event(), asyncio.Event()

    async def gated(ctx: TaskContext, payload: Any) -> str:
        await ctx.start_progress(2, "starting")
        started.set()
        await gate.wait()
        await ctx.report_progress(1, "one")
        return "ok"

    task_id = await manager.enqueue_task(QUEUE, "gated", None)
    running = asyncio.create_task(Worker(manager, QUEUE, {"gated": gated}).run_once())
    async with asyncio.timeout(WAIT):
        await started.wait()
    listener = asyncio.create_task(events_of(manager, task_id))  # follows the running task
    gate.set()
    assert await running is TaskStatus.SUCCEEDED
    kinds = [(event.kind.value, event.current_step) for event in await listener]
    assert kinds == [("started", 0), ("progress", 1), ("completed", 2)]
    progress = await manager.get_progress(task_id)
    assert progress is not None
    assert (progress["status"], progress["message"]) == ("completed", "succeeded")


async def test_a_dead_task_fails_its_progress(manager: CacheManager) -> None:
    task_id = await manager.enqueue_task(QUEUE, "steps", {"fail_until": 1}, max_attempts=1)
    assert await runner(manager).run_once() is TaskStatus.DEAD
    progress = await manager.get_progress(task_id)
    assert progress is not None
    assert (progress["status"], progress["current_step"]) == ("failed", 3)
    assert progress["error"] == "RuntimeError: attempt 1 failed"
    assert (await events_of(manager, task_id))[-1].kind.value == "failed"


async def test_a_retry_starts_the_progress_anew_and_keeps_its_owner(
    manager: CacheManager, elapse: Elapse
) -> None:
    project = uuid4()
    task_id = await manager.enqueue_task(
        QUEUE, "steps", {"fail_until": 1}, max_attempts=2, project_id=project
    )
    worker = runner(manager)
    assert await worker.run_once() is TaskStatus.FAILED
    first = await manager.get_progress(task_id)
    assert first is not None
    assert (first["status"], first["project_id"]) == ("running", project)  # a retry is due
    await elapse(0.25)
    assert await worker.run_once() is TaskStatus.SUCCEEDED
    events = await events_of(manager, task_id)  # the second attempt's log only
    kinds = [event.kind.value for event in events]
    assert kinds == ["started", "progress", "progress", "progress", "completed"]
    last = await manager.get_progress(task_id)
    assert last is not None
    assert (last["status"], last["project_id"]) == ("completed", project)


async def test_a_later_attempt_that_reports_nothing_still_ends_the_progress(
    manager: CacheManager, elapse: Elapse
) -> None:
    async def quiet_retry(ctx: TaskContext, payload: Any) -> None:
        if ctx.attempt == 1:
            await ctx.start_progress(2, "first try")
            raise RuntimeError("first try failed")

    task_id = await manager.enqueue_task(QUEUE, "quiet", None, max_attempts=2)
    worker = Worker(manager, QUEUE, {"quiet": quiet_retry}, retry=FAST_RETRY)
    assert await worker.run_once() is TaskStatus.FAILED
    await elapse(0.25)
    assert await worker.run_once() is TaskStatus.SUCCEEDED
    progress = await manager.get_progress(task_id)
    assert progress is not None
    assert progress["status"] == "completed"


async def test_a_task_without_progress_leaves_none(manager: CacheManager) -> None:
    async def silent(ctx: TaskContext, payload: Any) -> None:
        return None

    task_id = await manager.enqueue_task(QUEUE, "silent", None, project_id=uuid4())
    assert await Worker(manager, QUEUE, {"silent": silent}).run_once() is TaskStatus.SUCCEEDED
    assert await manager.get_progress(task_id) is None


async def test_the_project_given_at_enqueue_owns_the_tasks_progress(
    manager: CacheManager,
) -> None:
    project = uuid4()
    task_id = await manager.enqueue_task(QUEUE, "steps", {}, project_id=str(project))
    assert await manager.get_progress(task_id) is None  # nothing to show before the start
    assert await runner(manager).run_once() is TaskStatus.SUCCEEDED
    progress = await manager.get_progress(task_id)
    assert progress is not None
    assert progress["project_id"] == project
    # Without a project at enqueue, the progress is nobody's.
    plain = await manager.enqueue_task(QUEUE, "steps", {})
    assert await runner(manager).run_once() is TaskStatus.SUCCEEDED
    progress = await manager.get_progress(plain)
    assert progress is not None
    assert progress["project_id"] is None


async def test_an_enqueue_owns_its_progress_never_one_of_the_same_id_elsewhere(
    manager: CacheManager,
) -> None:
    mine, theirs = uuid4(), uuid4()
    await manager.start_progress_tracking("early", 2)  # started by the app, in no project
    early_id = await manager.enqueue_task(QUEUE, "steps", {}, task_id="early", project_id=mine)
    assert early_id != "early"  # the task's ID is in its project's scope
    apps = await manager.get_progress("early")
    assert apps is not None
    assert apps["project_id"] is None
    await manager.start_progress_tracking("owned", 2, project_id=theirs)
    await manager.enqueue_task(QUEUE, "steps", {}, task_id="owned", project_id=mine)
    owned = await manager.get_progress("owned", project_id=theirs)
    assert owned is not None
    assert owned["project_id"] == theirs
    # A second enqueue of a task ID in use in the project changes nothing either.
    await manager.enqueue_task(QUEUE, "steps", {}, task_id="early", project_id=mine)
    assert await runner(manager).run_once() is TaskStatus.SUCCEEDED
    again = await manager.get_progress("early", project_id=mine)
    assert again is not None
    assert again["project_id"] == mine
    assert await manager.get_progress(early_id) == again


async def test_tasks_report_progress_under_their_id(manager: CacheManager) -> None:
    task_id = await manager.enqueue_task(QUEUE, "steps", {})
    assert await runner(manager).run_once() is TaskStatus.SUCCEEDED
    events = await events_of(manager, task_id)
    assert [event.current_step for event in events] == [0, 1, 2, 3, 3]
    assert [event.message for event in events][-2:] == ["step 3", "succeeded"]
