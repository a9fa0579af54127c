"""The embedded task queue keeps no place for cancelled tasks, nor for projects it has
finished with, while their pause or pace still holds when they come back."""

from __future__ import annotations

from jeex_cache import TTL, ManualClock
from jeex_cache.tasks.memory import _STALE_SLACK, MemoryTaskQueueRepository
from jeex_cache.tasks.model import Pace

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


async def _run_one(repo: MemoryTaskQueueRepository, task_id: str, project: str) -> bool:
    """Enqueue a task of ``project`` and run it if a claim gives it now."""
    assert await repo.enqueue(task_id, "q", "job", b"{}", 1, 0, project=project)
    delivery = (await repo.claim("q", "w", 30_000, STATUS_TTL)).delivery
    return delivery is not None and await repo.complete(delivery, b"1", STATUS_TTL)


async def test_a_paused_project_that_left_is_still_paused_when_it_comes_back() -> None:
    clock = ManualClock()
    repo = MemoryTaskQueueRepository(clock)
    assert await repo.enqueue("t1", "q", "job", b"{}", 1, 0, project="p")
    delivery = (await repo.claim("q", "w", 30_000, STATUS_TTL)).delivery
    assert delivery is not None
    assert await repo.release(delivery, pause_ms=10_000)
    assert await repo.cancel("t1", STATUS_TTL)  # the project has no task left, but is paused
    assert not await _run_one(repo, "t2", "p")
    clock.advance(10)
    delivery = (await repo.claim("q", "w", 30_000, STATUS_TTL)).delivery
    assert delivery is not None
    assert delivery.task_id == "t2"
    assert list(repo._queue("q").groups) == ["p"]
    assert await repo.complete(delivery, b"1", STATUS_TTL)
    assert repo._queue("q").groups == {}  # its pause is over: nothing to remember


async def test_a_paced_project_keeps_its_pace_across_an_empty_spell_then_is_forgotten() -> None:
    clock = ManualClock()
    repo = MemoryTaskQueueRepository(clock)
    await repo.set_pace("q", "p", Pace(rate=1))
    assert await _run_one(repo, "t1", "p")
    assert repo._queue("q").groups  # empty, but its next slot is a second away
    assert not await _run_one(repo, "t2", "p")
    clock.advance(1)
    delivery = (await repo.claim("q", "w", 30_000, STATUS_TTL)).delivery
    assert delivery is not None
    assert await repo.complete(delivery, b"1", STATUS_TTL)
    clock.advance(1)
    assert (await repo.claim("q", "w", 30_000, STATUS_TTL)).delivery is None
    queue = repo._queue("q")
    assert queue.groups == {}  # its pace ran out: nothing left to remember but the setting
    assert (queue.pacer.tat, queue.pacer.hold, queue.pacer.paced) == ({}, {}, {})
    assert queue.pacer.paces == {"p": Pace(rate=1)}
    assert await _run_one(repo, "t3", "p")
    assert not await _run_one(repo, "t4", "p")  # the setting still holds
