"""Workers configured once (``WorkerSettings``): hooks once per worker, ``ctx.state`` and
``ctx.cache`` in handlers, typed tasks checked at enqueue, schedules and caps reachable."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import (
    CacheManager,
    InvalidInputError,
    Schedule,
    TaskContext,
    TaskRegistry,
    TaskStatus,
    Worker,
    WorkerContext,
    WorkerSettings,
)

QUEUE = "settings"


async def _until(condition: Any, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polls what a handler appends
            await asyncio.sleep(0.01)


async def test_hooks_run_once_per_worker_and_handlers_see_state(manager: CacheManager) -> None:
    started: list[str] = []
    stopped: list[str] = []
    seen: list[tuple[Any, ...]] = []

    async def open_pool(ctx: WorkerContext) -> None:
        started.append(ctx.worker)
        ctx.state["pool"] = f"pool-of-{ctx.worker}"

    async def close_pool(ctx: WorkerContext) -> None:
        stopped.append(ctx.state.pop("pool"))

    settings = WorkerSettings(
        QUEUE, concurrency=2, burst=True, on_startup=open_pool, on_shutdown=close_pool
    )

    @settings.task
    async def note(ctx: TaskContext, n: int) -> int:
        seen.append(
            (ctx.state["pool"], ctx.cache is manager, ctx.project_id, ctx.queue, ctx.attempt)
        )
        return n

    project = uuid4()
    workers = [Worker.from_settings(manager, settings) for _ in range(2)]  # binds `note`
    ids = [await note.enqueue(n, project_id=project) for n in range(6)]
    await asyncio.gather(*(w.run() for w in workers))

    assert sorted(started) == sorted(w.name for w in workers)  # once each
    assert sorted(stopped) == sorted(f"pool-of-{w.name}" for w in workers)
    assert len(seen) == 6
    assert {s[1:] for s in seen} == {(True, str(project), QUEUE, 1)}
    assert {s[0] for s in seen} <= {f"pool-of-{w.name}" for w in workers}
    for n, task_id in enumerate(ids):
        task = await manager.get_task_status(task_id)
        assert task is not None
        assert task.status is TaskStatus.SUCCEEDED
        assert task.result == n


async def test_a_typed_task_refuses_bad_arguments_before_queueing(manager: CacheManager) -> None:
    tasks = TaskRegistry(QUEUE, manager=manager)

    @tasks.task(max_attempts=5)
    async def send(
        ctx: TaskContext, to: str, subject: str = "hello", *, urgent: bool = False
    ) -> str:
        return f"{to}:{subject}:{urgent}"

    assert send.name == "send"
    assert send.queue == QUEUE
    bad_calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}), (("a", "b", "c"), {}), (("a",), {"cc": "b"}),
    ]  # fmt: skip
    for args, kwargs in bad_calls:
        with pytest.raises(InvalidInputError, match="send"):
            await send.enqueue(*args, **kwargs)
    assert (await manager.get_queue_stats(QUEUE)).pending == 0

    typed = await send.enqueue("ada", urgent=True, priority=2)
    by_name = await manager.enqueue_task(QUEUE, "send", {"to": "bob", "subject": "hi"})
    await Worker(manager, QUEUE, tasks, burst=True).run()
    first, second = [await manager.get_task_status(i) for i in (typed, by_name)]
    assert first is not None
    assert (first.result, first.max_attempts) == ("ada:hello:True", 5)
    assert second is not None
    assert second.result == "bob:hi:False"


def test_a_task_must_be_async_take_a_context_and_not_shadow_enqueue_options() -> None:
    tasks = TaskRegistry(QUEUE)

    def plain(ctx: TaskContext) -> None: ...

    async def no_context() -> None: ...

    async def shadows(ctx: TaskContext, priority: int) -> None: ...

    for function in (plain, no_context, shadows):
        with pytest.raises(InvalidInputError):
            tasks.task(function)  # type: ignore[arg-type]
    assert len(tasks) == 0


async def test_schedules_and_caps_come_through_the_settings(manager: CacheManager) -> None:
    running = 0
    most = 0
    ran: list[str] = []

    async def work(ctx: TaskContext, payload: Any) -> None:
        nonlocal running, most
        mine = ctx.project_id is not None
        running += mine
        most = max(most, running)
        await asyncio.sleep(0.02)
        ran.append(ctx.task_id)
        running -= mine

    settings = WorkerSettings(
        QUEUE, {"work": work}, concurrency=4, max_running_per_project=1,
        schedules=[Schedule("* * * * *", "work", key="minutely")],
    )  # fmt: skip
    project = uuid4()
    for _ in range(4):
        await manager.enqueue_task(QUEUE, "work", project_id=project)
    worker = Worker.from_settings(manager, settings)
    run = asyncio.create_task(worker.run())
    await _until(lambda: len(ran) == 5)  # 4 of the project, one cron occurrence
    worker.stop()
    await run
    assert most == 1  # the project's tasks ran one at a time on four slots
    assert sum("=cron.minutely." in task_id for task_id in ran) == 1
