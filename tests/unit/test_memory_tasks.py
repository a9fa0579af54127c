"""The embedded task queue keeps no place for cancelled tasks."""

from __future__ import annotations

from jeex_cache import TTL, ManualClock
from jeex_cache.tasks.memory import _STALE_SLACK, MemoryTaskQueueRepository

STATUS_TTL = TTL.hours(1)


async def test_cancelled_tasks_leave_the_queue_heap() -> None:
    repo = MemoryTaskQueueRepository(ManualClock())
    for n in range(1_000):
        assert await repo.enqueue(f"t{n}", "q", "job", b"{}", 1, 3_600_000)
    await repo.enqueue("kept", "q", "job", b"{}", 1, 0)
    for n in range(1_000):
        assert await repo.cancel(f"t{n}", STATUS_TTL)
    pending = repo._queue("q").pending
    assert len(pending) <= 1 + _STALE_SLACK + 1
    claim = await repo.claim("q", "w", 30_000, STATUS_TTL)
    assert claim.delivery is not None
    assert claim.delivery.task_id == "kept"
    assert (await repo.claim("q", "w", 30_000, STATUS_TTL)).delivery is None
