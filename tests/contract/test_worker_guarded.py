"""A worker claims and settles through the manager's guarded calls, as every caller does."""

from __future__ import annotations

from typing import Any

from jeex_cache import CacheManager, TaskContext, TaskStatus, Worker


async def echo(ctx: TaskContext, payload: Any) -> Any:
    return payload


async def test_a_worker_is_measured_like_every_other_caller(manager: CacheManager) -> None:
    first = await manager.enqueue_task("guarded", "echo", 1)
    second = await manager.enqueue_task("guarded", "echo", 2)
    worker = Worker(manager, "guarded", {"echo": echo}, burst=True)
    await worker.run()
    for task_id in (first, second):
        task = await manager.get_task_status(task_id)
        assert task is not None
        assert task.status is TaskStatus.SUCCEEDED
    operations = (await manager.get_performance_metrics())["operations"]
    settled = operations["worker.settle"]  # claims, and successes with the next claim
    assert settled["family"] == "task_worker"
    assert settled["count"] >= 3  # a claim, two acknowledgements, the claim finding none
    assert settled["errors"] == 0
    assert worker.stats.succeeded == 2
