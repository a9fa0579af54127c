"""The embedded backend's one byte bound holds for real memory, for every kind of state.

Each test fills the backend to its bound with one kind of state under tracemalloc and checks
that what the budget accounts is within 2x of what Python allocated, that the whole stays
under twice the bound, and that a refusal is typed and counted. Counts only, never timing.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import pytest

from jeex_cache import TTL, CacheManager, ManualClock, MemoryLimitError, RateLimitConfig, Settings
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.progress.memory import MemoryProgressRepository
from jeex_cache.progress.rules import Change, ChangeKind
from jeex_cache.project_cache.lease import (
    LEASE_BYTES,
    MARK_BYTES,
    FillTerms,
    Grant,
    LeaseEnd,
    MemoryLoadStore,
)
from jeex_cache.project_cache.memory import FILL_BYTES, MemoryProjectCacheRepository
from jeex_cache.rate_limit.memory import (
    ADMISSION_BYTES,
    LOG_BYTES,
    MemoryRateLimitRepository,
)
from jeex_cache.rate_limit.policy import RateLimitPolicy
from jeex_cache.sessions.memory import MemoryUserSessionRepository
from jeex_cache.tasks.memory import GROUP_BYTES, MemoryTaskQueueRepository
from tests.conftest import eventually

BOUND = 2 * 1_048_576
TAGS = [f"tag-{j}" for j in range(32)]

Write = Callable[[CacheManager, int], Awaitable[bool]]


@pytest.fixture
async def manager() -> AsyncIterator[CacheManager]:
    settings = Settings(redis_url=None, cache_memory_max_bytes=BOUND)
    async with CacheManager(settings, clock=ManualClock()) as manager:
        yield manager


def _usage(manager: CacheManager) -> dict[str, int]:
    backend = manager._backend
    assert backend is not None
    assert backend.usage is not None
    return backend.usage()


async def _cache(manager: CacheManager, i: int) -> bool:
    return await manager.cache_project_data(uuid4(), {"i": i})


async def _tagged(manager: CacheManager, i: int) -> bool:
    return await manager.cache_project_data(uuid4(), {"i": i}, tags=TAGS)


async def _session(manager: CacheManager, i: int) -> bool:
    return await manager.create_user_session(uuid4(), {"i": i}, [uuid4()]) is not None


async def _rate_limit(manager: CacheManager, i: int) -> bool:
    return "error" not in await manager.check_rate_limit(f"client-{i}", "user")


async def _progress(manager: CacheManager, i: int) -> bool:
    started = await manager.start_progress_tracking(f"op-{i}", 10, "starting")
    return started.outcome.value == "applied"


async def _task(manager: CacheManager, i: int) -> bool:
    try:
        await manager.enqueue_task("bound", "noop", {"i": i})
    except MemoryLimitError:  # a task is never dropped silently: the caller is told
        return False
    return True


KINDS: dict[str, tuple[Write, str]] = {
    "cache": (_cache, "cache"),
    "cache with 32 tags": (_tagged, "cache"),
    "sessions": (_session, "sessions"),
    "rate limits": (_rate_limit, "rate_limit"),
    "progress": (_progress, "progress"),
    "tasks": (_task, "tasks"),
}


async def _fill(manager: CacheManager, write: Write, kind: str) -> tuple[int, int, int]:
    """Write until the bound is met (twice over for the evictable cache); return how many
    writes were taken, the bytes traced and the bytes accounted over the filling."""
    for i in range(50):  # warm the code paths and the metrics buffers first
        await write(manager, -1 - i)
    gc.collect()
    tracemalloc.start()
    try:
        traced_before, accounted_before = tracemalloc.get_traced_memory()[0], _usage(manager)
        taken = written = 0
        while written < 200_000:  # a safety stop far past any bound here
            written += 1
            if not await write(manager, written):
                break  # refused: the bound is reached (a cache write is never refused here)
            taken += 1
            if kind == "cache" and _usage(manager)["evictions"] >= taken // 2 > 0:
                break  # the cache has turned over half of what it took: well past the bound
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - traced_before
    finally:
        tracemalloc.stop()
    accounted = _usage(manager)[f"{kind}_bytes"] - accounted_before[f"{kind}_bytes"]
    return taken, traced, accounted


@pytest.mark.parametrize("name", list(KINDS))
async def test_accounted_bytes_track_real_memory_up_to_the_bound(
    manager: CacheManager, name: str
) -> None:
    write, kind = KINDS[name]
    taken, traced, accounted = await _fill(manager, write, kind)
    usage = _usage(manager)
    assert taken > 100
    # Traced memory includes what the manager keeps beside the backend (metrics buffers;
    # for rate limits, the service's cache of up to 10,000 prepared identifiers).
    assert usage["used"] <= usage["max"] == BOUND
    assert accounted / 2 <= traced <= 2 * accounted, (traced, accounted)
    assert traced < 2 * BOUND
    if kind == "cache":  # evictable: full means evicting, never refusing
        assert usage["evictions"] > 0
        assert usage["refusals"] == 0
    else:  # never evicted: the write that does not fit is refused, and counted
        assert usage["refusals"] == 1
        assert usage["evictions"] == 0


async def test_sessions_evict_cache_entries_then_are_refused(manager: CacheManager) -> None:
    for i in range(200):
        assert await _cache(manager, i)
    sessions = []
    while (session := await manager.create_user_session(uuid4())) is not None:
        sessions.append(session)
        assert len(sessions) < 100_000
    usage = _usage(manager)
    assert usage["evictions"] >= 199  # the cache made room first, until it could not
    assert usage["entries"] == 200 - usage["evictions"]
    assert usage["refusals"] == 1
    assert not await _cache(manager, 0)  # nothing evictable is left: refused, counted
    assert _usage(manager)["refusals"] == 2
    for session in sessions:  # no live session was evicted to make room
        assert session.session_id is not None
        assert await manager.validate_user_session(session.session_id) is not None


async def test_queued_tasks_are_never_evicted(manager: CacheManager) -> None:
    enqueued = 0
    while await _task(manager, enqueued):
        enqueued += 1
    assert not await _cache(manager, 0)
    assert await manager.create_user_session(uuid4()) is None
    stats = await manager.get_queue_stats("bound")
    assert stats.pending == enqueued
    assert _usage(manager)["refusals"] == 3


async def test_a_refusal_is_a_typed_error_and_changes_nothing() -> None:
    budget = MemoryBudget(65_536)
    clock = ManualClock()
    sessions = MemoryUserSessionRepository(clock, budget)
    tasks = MemoryTaskQueueRepository(clock, budget)
    ttl = TTL.hours(1)
    payload = b"x" * 2_000
    created = 0
    while budget.fits(1_000):
        await sessions.create(f"{created:064x}", uuid4(), {}, frozenset(), ttl, ttl, 10)
        created += 1
    with pytest.raises(MemoryLimitError):
        await sessions.create("f" * 64, uuid4(), {"data": payload}, frozenset(), ttl, ttl, 10)
    held = budget.used
    with pytest.raises(MemoryLimitError, match="JEEX_CACHE_MEMORY_MAX_BYTES"):
        await tasks.enqueue("t1", "q", "noop", payload, 3, 0)
    assert await tasks.get("t1") is None
    assert len(sessions._records) == created  # nothing was evicted, nothing half-written
    assert (budget.used, budget.refusals) == (held, 2)
    clock.advance(2 * 3_600)  # the sessions expire: their room comes back for a task
    assert await tasks.enqueue("t1", "q", "noop", payload, 3, 0)
    assert budget.by_kind["sessions"] == 0


@pytest.mark.parametrize("fail_closed", [False, True])
async def test_a_full_backend_still_refuses_over_the_limit_and_fails_as_the_table_says(
    fail_closed: bool,
) -> None:
    settings = Settings(
        redis_url=None, cache_memory_max_bytes=BOUND, rate_limit_fail_closed=fail_closed
    )
    once = RateLimitConfig(1, 3_600)
    async with CacheManager(settings, clock=ManualClock()) as manager:
        assert (await manager.check_rate_limit("heavy", "user", once)).allowed
        i = 0
        while "error" not in await manager.check_rate_limit(f"client-{i}", "user"):
            i += 1
        over = await manager.check_rate_limit("heavy", "user", once)
        assert not over.allowed  # a refusal needs no memory: the limit holds at the bound
        assert "error" not in over
        new = await manager.check_rate_limit("newcomer", "user")
        assert "error" in new  # the failure table's answer: open, or closed if configured
        assert new.allowed is not fail_closed
        assert _usage(manager)["refusals"] == 2


async def test_sessions_and_progress_give_back_every_byte_they_charged() -> None:
    budget, clock, ttl = MemoryBudget(), ManualClock(), TTL.minutes(1)
    sessions = MemoryUserSessionRepository(clock, budget)
    user, project = uuid4(), uuid4()
    await sessions.create("a" * 64, user, {"k": b"1"}, frozenset([project]), ttl, ttl, 10)
    assert await sessions.update_data("a" * 64, {"k": b'"' + b"x" * 500 + b'"', "j": b"2"}, 10_000)
    assert await sessions.set_project_access("a" * 64, uuid4(), True)
    assert await sessions.set_project_access("a" * 64, project, False)
    assert await sessions.rename("a" * 64, "b" * 64) is not None
    assert await sessions.delete("b" * 64) == user
    assert budget.by_kind["sessions"] == 0

    progress = MemoryProgressRepository(clock, 3, budget)
    assert await progress.assign("op", project, ttl)
    await progress.start("op", 100, "starting", ttl, False, None)  # takes the waiting owner
    for step in range(1, 8):  # past the 3 events kept: the oldest leave
        change = Change(ChangeKind.SET, f"step {step}" * step, step)
        await progress.apply("op", change, ttl)
    await progress.start("op", 100, "again", ttl, True, None)
    assert await progress.assign("waiting", project, ttl)
    clock.advance(61)
    assert await progress.get("op") is None
    await progress.start("next", 1, "", ttl, False, None)  # a write drops expired owners
    clock.advance(61)
    assert await progress.get("next") is None
    assert (budget.by_kind["progress"], budget.used) == (0, 0)


async def test_rate_limits_and_tasks_give_back_what_leaves() -> None:
    budget, clock, ttl = MemoryBudget(), ManualClock(), TTL.minutes(1)
    limits = MemoryRateLimitRepository(clock, budget)
    policy = RateLimitPolicy.per(minute=5)
    for i in range(20):
        await limits.hit(f"client-{i % 3}:", policy, list)
    clock.advance(61)
    await limits.hit("last:", policy, list)  # the stale logs go as a check comes
    assert budget.by_kind["rate_limit"] == LOG_BYTES + 49 + len("last:minute") + ADMISSION_BYTES

    tasks = MemoryTaskQueueRepository(clock, budget)
    assert await tasks.enqueue("t1", "q", "noop", b"{}", 2, 0)
    first = (await tasks.claim("q", "w", 30_000, ttl)).delivery
    assert first is not None
    await tasks.fail(first, "boom " * 20, 0, ttl)
    again = (await tasks.claim("q", "w", 30_000, ttl)).delivery
    assert again is not None
    assert await tasks.complete(again, b"r" * 1_000, ttl)
    clock.advance(61)
    assert await tasks.get("t1") is None
    assert budget.by_kind["tasks"] == 0  # the project's group went with its last task


async def test_a_queue_forgets_the_projects_it_has_finished_with() -> None:
    budget, clock, ttl = MemoryBudget(), ManualClock(), TTL.minutes(1)
    tasks = MemoryTaskQueueRepository(clock, budget)
    for i in range(50_000):  # each a project met once: enqueued, run, completed
        assert await tasks.enqueue(f"t{i}", "q", "noop", b"{}", 1, 0, project=f"p{i}")
        delivery = (await tasks.claim("q", "w", 30_000, ttl)).delivery
        assert delivery is not None
        assert delivery.project_id == f"p{i}"
        assert await tasks.complete(delivery, b"1", ttl)
    queue = tasks._queue("q")
    assert queue.groups == {}
    assert (queue.ring, queue.parked, queue.running_by_group) == ({}, set(), {})
    held = sum(record.size for record in tasks._records.values())
    assert budget.by_kind["tasks"] == held  # the finished records only, until they expire
    clock.advance(61)
    assert await tasks.enqueue("last", "q", "noop", b"{}", 1, 0, project="p0")
    assert list(tasks._records) == ["last"]
    assert budget.by_kind["tasks"] == tasks._records["last"].size + GROUP_BYTES
    assert list(queue.groups) == ["p0"]


async def test_loads_give_back_their_leases_and_their_marks_go_with_their_entries(
    manager: CacheManager,
) -> None:
    def cache_bytes() -> int:
        return _usage(manager)["cache_bytes"]

    gate = asyncio.Event()

    async def failing() -> object:
        await gate.wait()
        raise RuntimeError("the source is down")

    async def loading() -> object:
        await gate.wait()
        return {"loaded": True}

    projects = [uuid4() for _ in range(200)]
    # in flight: each load holds a lease and a fill token (each with its 32-character token)
    in_flight = len(projects) * (LEASE_BYTES + FILL_BYTES + 2 * 32)
    for loader in (failing, loading):
        gate.clear()
        loads = [
            asyncio.create_task(manager.get_or_load_project_data(project, loader))
            for project in projects
        ]
        await eventually(lambda: cache_bytes() == in_flight)
        gate.set()
        results = await asyncio.gather(*loads, return_exceptions=True)
        if loader is failing:
            assert all(isinstance(result, RuntimeError) for result in results)
            assert cache_bytes() == 0  # nothing is held once the loads ended
    assert _usage(manager)["entries"] == len(projects)
    assert manager._backend is not None
    repository = manager._backend.repositories["project_cache"]
    assert isinstance(repository, MemoryProjectCacheRepository)
    held = sum(entry.size for entry in repository._entries.values())
    assert cache_bytes() == held + len(projects) * MARK_BYTES  # each entry and its mark
    for project in projects[:100]:
        assert await manager.invalidate_project_cache(project)
    for project in projects[100:]:
        assert await manager.delete_project_data(project)
    assert cache_bytes() == 0  # the marks went with their entries


async def test_leases_that_ran_out_unreleased_are_swept() -> None:
    budget = MemoryBudget()
    repository = MemoryProjectCacheRepository(ManualClock(), budget)
    store = MemoryLoadStore(repository, budget)
    fill = FillTerms(frozenset(), TTL.minutes(5))
    for i in range(100):  # holders cancelled mid-load: their 1 ms leases are never released
        assert await store.acquire(uuid4(), None, f"{i:032x}", 1, 0.0, fill) is Grant.TAKEN
    await asyncio.sleep(0.01)
    live = [uuid4() for _ in range(100)]
    for project in live:
        assert await store.acquire(project, None, "l" * 32, 60_000, 0.0, fill) is Grant.TAKEN
    assert len(store._leases) == 100  # the table doubled: the run-out leases were swept
    fills = 200 * (FILL_BYTES + 32)  # a dead holder's fill token stays until it is replaced
    assert budget.by_kind["cache"] == 100 * (LEASE_BYTES + 32) + fills
    for project in live:
        await store.release(project, None, "l" * 32, LeaseEnd.FAILED)
    assert budget.by_kind["cache"] == 100 * (FILL_BYTES + 32)
