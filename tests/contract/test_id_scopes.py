"""Caller-chosen task and progress IDs are scoped by their project, on every backend.

Two projects using one ID never meet: each has its own task (its own payload and result) and
its own progress; a task never restarts another project's progress; a read names its project
(or the scoped ID) and never reaches another's record. The same ID reused within one project
is idempotent, as before, and callers without a project keep their one scope.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, InvalidInputError, TaskContext, TaskStatus, Worker

QUEUE = "reports"


async def test_two_projects_enqueuing_one_id_get_two_tasks(manager: CacheManager) -> None:
    a, b = uuid4(), uuid4()
    id_a = await manager.enqueue_task(QUEUE, "report", {"of": "A"}, task_id="report-42",
                                      project_id=a)  # fmt: skip
    id_b = await manager.enqueue_task(QUEUE, "report", {"of": "B"}, task_id="report-42",
                                      project_id=b)  # fmt: skip
    assert id_a != id_b
    task_a = await manager.get_task_status("report-42", project_id=a)
    task_b = await manager.get_task_status("report-42", project_id=b)
    assert task_a is not None
    assert task_b is not None
    assert (task_a.payload, task_a.project_id) == ({"of": "A"}, str(a))
    assert (task_b.payload, task_b.project_id) == ({"of": "B"}, str(b))
    assert await manager.get_task_status(id_b) == task_b  # the scoped ID is a full name
    # Neither is in the scope of no project, nor in a third project's.
    assert await manager.get_task_status("report-42") is None
    assert await manager.get_task_status("report-42", project_id=uuid4()) is None
    assert (await manager.get_queue_stats(QUEUE)).pending == 2


async def test_an_id_reused_within_one_project_stays_idempotent(manager: CacheManager) -> None:
    project = uuid4()
    first = await manager.enqueue_task(QUEUE, "report", 1, task_id="r-1", project_id=project)
    again = await manager.enqueue_task(QUEUE, "report", 2, task_id="r-1", project_id=project)
    assert again == first
    assert await manager.enqueue_task(QUEUE, "report", 3, task_id=first) == first
    task = await manager.get_task_status("r-1", project_id=project)
    assert task is not None
    assert task.payload == 1
    assert (await manager.get_queue_stats(QUEUE)).pending == 1
    plain = await manager.enqueue_task(QUEUE, "report", 4, task_id="r-1")  # no project: its own
    assert plain == "r-1"
    assert await manager.enqueue_task(QUEUE, "report", 5, task_id="r-1") == "r-1"
    own = await manager.get_task_status("r-1")
    assert own is not None
    assert own.payload == 4
    assert own.project_id is None
    assert (await manager.get_queue_stats(QUEUE)).pending == 2


async def test_cancel_and_wait_stay_in_their_project(manager: CacheManager) -> None:
    a, b = uuid4(), uuid4()
    await manager.enqueue_task(QUEUE, "report", None, task_id="c-1", project_id=a)
    assert await manager.cancel_task("c-1", project_id=b) is False
    assert await manager.cancel_task("c-1") is False
    assert await manager.wait_for_task("c-1", 0.5, project_id=b) is None
    assert await manager.cancel_task("c-1", project_id=a) is True
    done = await manager.wait_for_task("c-1", 5.0, project_id=a)
    assert done is not None
    assert done.status is TaskStatus.CANCELLED


async def test_a_scoped_id_is_refused_for_another_project(manager: CacheManager) -> None:
    a, b = uuid4(), uuid4()
    id_a = await manager.enqueue_task(QUEUE, "report", None, task_id="x", project_id=a)
    with pytest.raises(InvalidInputError):
        await manager.get_task_status(id_a, project_id=b)
    with pytest.raises(InvalidInputError):
        await manager.enqueue_task(QUEUE, "report", None, task_id=id_a, project_id=b)


async def test_two_projects_tracking_one_progress_id_never_meet(manager: CacheManager) -> None:
    a, b = uuid4(), uuid4()
    assert (await manager.start_progress_tracking("op-7", 10, project_id=a)).applied
    assert (await manager.update_progress("op-7", 4, project_id=a)).applied
    started = await manager.start_progress_tracking("op-7", 3, project_id=b, restart=True)
    assert started.applied
    assert (await manager.update_progress("op-7", 1, project_id=b)).applied
    progress_a = await manager.get_progress("op-7", project_id=a)
    progress_b = await manager.get_progress("op-7", project_id=b)
    assert progress_a is not None
    assert progress_b is not None
    assert (progress_a["current_step"], progress_a["total_steps"]) == (4, 10)
    assert (progress_b["current_step"], progress_b["total_steps"]) == (1, 3)
    assert progress_a["project_id"] == a
    assert await manager.get_progress("op-7") is None  # the scope of no project is its own
    assert started.progress is not None
    assert await manager.get_progress(started.progress.correlation_id) == progress_b


async def test_a_task_never_restarts_another_projects_progress(manager: CacheManager) -> None:
    a, b = uuid4(), uuid4()
    assert (await manager.start_progress_tracking("shared-id", 10, project_id=a)).applied
    for step in range(1, 6):
        assert (await manager.update_progress("shared-id", step, project_id=a)).applied
    assert (await manager.start_progress_tracking("shared-id", 10)).applied  # and one of no project
    task_id = await manager.enqueue_task(QUEUE, "work", None, task_id="shared-id", project_id=b)
    ran: list[str] = []

    async def work(ctx: TaskContext, payload: Any) -> None:
        await ctx.start_progress(2, "B starts")
        await ctx.report_progress(1, "B halfway")
        ran.append(ctx.task_id)
        worker.stop()

    worker = Worker(manager, QUEUE, {"work": work}, concurrency=1)
    await asyncio.wait_for(worker.run(), 30)
    assert ran == [task_id]
    progress_a = await manager.get_progress("shared-id", project_id=a)
    assert progress_a is not None
    assert (progress_a["current_step"], progress_a["total_steps"]) == (5, 10)
    unowned = await manager.get_progress("shared-id")
    assert unowned is not None
    assert unowned["current_step"] == 0
    progress_b = await manager.get_progress("shared-id", project_id=b)
    assert progress_b is not None
    assert progress_b["project_id"] == b
    assert progress_b["status"] == "completed"
