"""The progress tracking contract: every test runs on the memory backend and on real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID, uuid4

import pytest

from jeex_cache import (
    CacheManager,
    EventKind,
    InvalidIdentifierError,
    InvalidInputError,
    InvalidProgressError,
    ManualClock,
    ProgressEvent,
    ProgressOutcome,
    ProgressResult,
    ProgressStatus,
    Settings,
)
from tests.conftest import Elapse

Factory = Callable[..., AbstractAsyncContextManager[CacheManager]]
WAIT = 5.0  # bound on any wait for a listener: a failing test fails, it never hangs


@pytest.fixture
def managers(settings: Settings, clock: ManualClock) -> Factory:
    """``async with managers(cache_progress_ttl=1) as cache``: a manager with overrides."""

    def build(**overrides: Any) -> AbstractAsyncContextManager[CacheManager]:
        return CacheManager(Settings(redis_url=settings.redis_url, **overrides), clock=clock)

    return build


async def collect(events: AsyncIterator[ProgressEvent]) -> list[ProgressEvent]:
    async with asyncio.timeout(WAIT):
        return [event async for event in events]


def summary(events: list[ProgressEvent]) -> list[tuple[str, int, str]]:
    return [(event.kind.value, event.current_step, event.message) for event in events]


async def test_the_spec_example(manager: CacheManager) -> None:
    correlation_id = uuid4()
    assert await manager.start_progress_tracking(correlation_id, 5)
    assert await manager.increment_progress(correlation_id, "Processing business analyst")
    assert await manager.increment_progress(correlation_id, "Generating architecture")
    progress = await manager.get_progress(correlation_id)
    assert progress is not None
    assert (progress["current_step"], progress["total_steps"]) == (2, 5)
    assert (progress["percentage"], progress["status"]) == (40.0, "running")
    assert progress["message"] == "Generating architecture"

    assert await manager.complete_progress(correlation_id, "All documents generated")
    progress = await manager.get_progress(correlation_id)
    assert progress is not None
    assert progress["percentage"] == 100.0
    assert progress["message"] == "All documents generated"
    assert (progress["status"], progress["current_step"], progress["error"]) == (
        "completed",
        5,
        None,
    )
    assert progress["started_at"] <= progress["updated_at"]


async def test_a_result_carries_the_new_state_and_its_event(manager: CacheManager) -> None:
    cid = uuid4()
    started = await manager.start_progress_tracking(cid, 3, "queued")
    assert started.outcome is ProgressOutcome.APPLIED
    assert started.progress is not None
    assert (started.progress.current_step, started.progress.message) == (0, "queued")
    result = await manager.update_progress(cid, 2, "two")
    assert result.progress is not None
    assert result.event_id is not None
    assert result.progress.current_step == 2
    assert result.progress.last_event_id == result.event_id
    progress = await manager.get_progress(cid)
    assert progress is not None
    assert progress["last_event_id"] == result.event_id


async def test_a_uuid_is_one_operation_however_it_is_written(manager: CacheManager) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(str(cid).upper(), 2)
    assert await manager.increment_progress(cid, "one")
    progress = await manager.get_progress(str(cid))
    assert progress is not None
    assert (progress["correlation_id"], progress["current_step"]) == (str(cid), 1)


async def test_unknown_operations_are_refused_and_not_created(manager: CacheManager) -> None:
    cid = uuid4()
    for update in (
        manager.increment_progress(cid, "x"),
        manager.update_progress(cid, 1, "x"),
        manager.complete_progress(cid, "x"),
        manager.fail_progress(cid, "x"),
    ):
        result = await update
        assert not result
        assert result.outcome is ProgressOutcome.UNKNOWN
        assert result.progress is None
    assert await manager.get_progress(cid) is None
    assert await collect(manager.progress_events(cid)) == []


@pytest.mark.parametrize("finish", ["complete", "fail"])
async def test_finished_operations_are_final(manager: CacheManager, finish: str) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(cid, 4)
    await manager.increment_progress(cid, "one")
    if finish == "complete":
        await manager.complete_progress(cid, "done")
    else:
        await manager.fail_progress(cid, "boom")
    before = await manager.get_progress(cid)
    events_before = await collect(manager.progress_events(cid))
    for update in (
        manager.increment_progress(cid, "x"),
        manager.update_progress(cid, 3, "x"),
        manager.complete_progress(cid, "x"),
        manager.fail_progress(cid, "x"),
    ):
        result = await update
        assert result.outcome is ProgressOutcome.FINISHED
        assert result.progress is not None
        assert result.progress.finished
    assert await manager.get_progress(cid) == before
    assert await collect(manager.progress_events(cid)) == events_before


async def test_steps_never_go_backwards_or_past_the_total(manager: CacheManager) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(cid, 3)
    assert await manager.update_progress(cid, 2, "two")
    assert (await manager.update_progress(cid, 1, "one")).outcome is ProgressOutcome.BACKWARDS
    assert await manager.update_progress(cid, 2, "two, again")  # same step: accepted
    assert (await manager.update_progress(cid, 4)).outcome is ProgressOutcome.BEYOND_TOTAL
    assert await manager.increment_progress(cid, "three")
    refused = await manager.increment_progress(cid, "four")
    assert refused.outcome is ProgressOutcome.BEYOND_TOTAL
    assert refused.progress is not None
    assert refused.progress.current_step == 3
    progress = await manager.get_progress(cid)
    assert progress is not None
    assert (progress["current_step"], progress["message"]) == (3, "three")
    await manager.complete_progress(cid, "done")
    assert summary(await collect(manager.progress_events(cid))) == [
        ("started", 0, ""),
        ("progress", 2, "two"),
        ("progress", 2, "two, again"),
        ("progress", 3, "three"),
        ("completed", 3, "done"),
    ]  # refusals appended nothing


async def test_fail_keeps_the_step_and_records_the_error(manager: CacheManager) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(cid, 5)
    await manager.increment_progress(cid, "one")
    result = await manager.fail_progress(cid, ValueError("bad document"))
    assert result.progress is not None
    assert result.progress.status is ProgressStatus.FAILED
    progress = await manager.get_progress(cid)
    assert progress is not None
    assert progress["status"] == "failed"
    assert progress["current_step"] == 1
    assert progress["error"] == progress["message"] == "ValueError: bad document"


async def test_start_twice_is_refused_unless_restarted(manager: CacheManager) -> None:
    cid = "task-7f3a"  # any valid token works as a correlation ID, e.g. a task ID
    await manager.start_progress_tracking(cid, 2)
    await manager.increment_progress(cid, "one")
    await manager.fail_progress(cid, "worker died")
    again = await manager.start_progress_tracking(cid, 2)
    assert again.outcome is ProgressOutcome.EXISTS
    assert again.progress is not None
    assert again.progress.status is ProgressStatus.FAILED

    restarted = await manager.start_progress_tracking(cid, 3, "attempt 2", restart=True)
    assert restarted
    assert restarted.progress is not None
    assert (restarted.progress.current_step, restarted.progress.total_steps) == (0, 3)
    assert await manager.increment_progress(cid, "one")
    await manager.complete_progress(cid, "done")
    events = await collect(manager.progress_events(cid))
    assert summary(events) == [
        ("started", 0, "attempt 2"),
        ("progress", 1, "one"),
        ("completed", 3, "done"),
    ]


async def test_events_replay_in_order_and_resume_after_an_id(manager: CacheManager) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(cid, 3, "go")
    for step in (1, 2):
        await manager.increment_progress(cid, f"step {step}")
    await manager.complete_progress(cid, "done")
    events = await collect(manager.progress_events(cid))
    assert summary(events) == [
        ("started", 0, "go"),
        ("progress", 1, "step 1"),
        ("progress", 2, "step 2"),
        ("completed", 3, "done"),
    ]
    assert [e.percentage for e in events] == [0.0, 33.3, 66.7, 100.0]
    assert [e.status.value for e in events] == ["running"] * 3 + ["completed"]
    assert events[-1].terminal
    assert not any(e.terminal for e in events[:-1])
    assert [e.previous_id for e in events] == [None, *(e.id for e in events[:-1])]
    for i, event in enumerate(events):
        assert await collect(manager.progress_events(cid, after=event.id)) == events[i + 1 :]


async def test_listeners_see_every_live_update_once(manager: CacheManager) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(cid, 20)
    listeners = [
        asyncio.create_task(collect(manager.progress_events(cid, check_every=0.05)))
        for _ in range(4)
    ]
    await asyncio.sleep(0.1)  # let them subscribe; the test passes without it too
    late = asyncio.create_task(collect(manager.progress_events(cid, check_every=0.05)))
    for step in range(1, 20):
        await manager.increment_progress(cid, f"step {step}")
        if step % 5 == 0:
            await asyncio.sleep(0)  # let listeners interleave
    await manager.complete_progress(cid, "done")
    expected = [("started", 0, "")]
    expected += [("progress", step, f"step {step}") for step in range(1, 20)]
    expected += [("completed", 20, "done")]
    for events in await asyncio.gather(*listeners, late):
        assert summary(events) == expected


async def test_concurrent_increments_each_take_one_step(manager: CacheManager) -> None:
    cid = uuid4()
    await manager.start_progress_tracking(cid, 40)
    results = await asyncio.gather(*(manager.increment_progress(cid, f"#{i}") for i in range(50)))
    steps = sorted(r.progress.current_step for r in results if r and r.progress)
    assert steps == list(range(1, 41))
    assert sum(r.outcome is ProgressOutcome.BEYOND_TOTAL for r in results) == 10
    await manager.complete_progress(cid)
    events = await collect(manager.progress_events(cid))
    assert [e.current_step for e in events] == [*range(41), 40]


async def test_the_event_log_is_capped(managers: Factory) -> None:
    async with managers(cache_progress_max_events=10) as cache:
        cid = uuid4()
        await cache.start_progress_tracking(cid, 100)
        for _ in range(30):
            await cache.increment_progress(cid)
        await cache.complete_progress(cid, "done")
        events = await collect(cache.progress_events(cid))
        assert [e.current_step for e in events] == [*range(22, 31), 100]
        progress = await cache.get_progress(cid)
        assert progress is not None
        assert progress["status"] == "completed"


# It waits in real time on Redis, with a second of margin: on one Redis topology (the
# scripts are the same on all three), beside the memory backend's exact clock.
@pytest.mark.parametrize("backend", ["memory", "redis"], indirect=True)
async def test_records_and_events_expire_after_the_last_update(
    managers: Factory, elapse: Elapse
) -> None:
    async with managers(cache_progress_ttl=3) as cache:
        cid = uuid4()
        await cache.start_progress_tracking(cid, 3)
        await elapse(1.5)
        assert await cache.increment_progress(cid, "one")  # the TTL starts again
        await elapse(2.0)  # past the first TTL
        assert await cache.get_progress(cid) is not None
        await elapse(1.0)
        assert await cache.get_progress(cid) is None
        assert (await cache.increment_progress(cid)).outcome is ProgressOutcome.UNKNOWN
        assert await collect(cache.progress_events(cid)) == []
        assert await cache.get_progress(cid) is None  # the refused update recreated nothing


async def test_a_listener_ends_when_the_operation_expires(
    managers: Factory, elapse: Elapse
) -> None:
    async with managers(cache_progress_ttl=1) as cache:
        cid = uuid4()
        await cache.start_progress_tracking(cid, 3)
        listener = asyncio.create_task(collect(cache.progress_events(cid, check_every=0.05)))
        await asyncio.sleep(0.05)
        await elapse(1.2)
        events = await listener
        assert summary(events) == [("started", 0, "")]


def owner_of(result: ProgressResult) -> UUID | str | None:
    assert result.progress is not None, result
    return result.progress.project_id


async def test_progress_belongs_to_the_project_given_at_the_start(manager: CacheManager) -> None:
    project, other = uuid4(), uuid4()
    owned, nobodys = uuid4(), uuid4()
    assert (
        owner_of(await manager.start_progress_tracking(owned, 3, project_id=str(project)))
        == project
    )
    assert owner_of(await manager.start_progress_tracking(nobodys, 3)) is None
    # Updates in the project's scope keep the owner, and so does a start that finds it.
    assert owner_of(await manager.increment_progress(owned, "one", project_id=project)) == project
    again = await manager.start_progress_tracking(owned, 3, project_id=project)
    assert again.outcome is ProgressOutcome.EXISTS
    assert owner_of(again) == project
    # A restart in the project keeps it too.
    restarted = await manager.start_progress_tracking(owned, 5, restart=True, project_id=project)
    assert owner_of(restarted) == project
    await manager.complete_progress(owned, project_id=project)
    state = await manager.get_progress(owned, project_id=project)
    assert state is not None
    assert (state["project_id"], state["status"]) == (project, "completed")
    # Another project's start of the same ID is another operation: the first is untouched.
    theirs = await manager.start_progress_tracking(owned, 2, project_id=other)
    assert theirs.outcome is ProgressOutcome.APPLIED
    assert owner_of(theirs) == other
    kept, ownerless = (
        await manager.get_progress(owned, project_id=project),
        await manager.get_progress(nobodys),
    )
    assert kept is not None
    assert (kept["project_id"], kept["status"]) == (project, "completed")
    assert ownerless is not None
    assert ownerless["project_id"] is None
    assert await manager.get_progress(owned) is None  # nor in the scope of no project


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m, c: m.start_progress_tracking(c, 0), InvalidProgressError),
        (lambda m, c: m.start_progress_tracking(c, -3), InvalidProgressError),
        (lambda m, c: m.start_progress_tracking(c, 2.5), InvalidProgressError),
        (lambda m, c: m.start_progress_tracking(c, True), InvalidProgressError),
        (lambda m, c: m.start_progress_tracking(c, 10**10), InvalidProgressError),
        (lambda m, c: m.start_progress_tracking(c, 3, "x" * 1001), InvalidProgressError),
        (lambda m, c: m.start_progress_tracking("a:b", 3), InvalidIdentifierError),
        (lambda m, c: m.start_progress_tracking("{x}", 3), InvalidIdentifierError),
        (lambda m, c: m.start_progress_tracking("", 3), InvalidIdentifierError),
        (lambda m, c: m.start_progress_tracking("x" * 129, 3), InvalidIdentifierError),
        (lambda m, c: m.start_progress_tracking(42, 3), InvalidIdentifierError),
        (
            lambda m, c: m.start_progress_tracking(c, 3, restart=True, project_id="p:1"),
            InvalidIdentifierError,
        ),
        (lambda m, c: m.increment_progress(c, "x" * 1001), InvalidProgressError),
        (lambda m, c: m.increment_progress(c, None), InvalidProgressError),
        (lambda m, c: m.update_progress(c, -1), InvalidProgressError),
        (lambda m, c: m.update_progress(c, "2"), InvalidProgressError),
        (lambda m, c: m.complete_progress(c, b"bytes"), InvalidProgressError),
        (lambda m, c: m.fail_progress(c, "e" * 1001), InvalidProgressError),
        (lambda m, c: m.get_progress("a b"), InvalidIdentifierError),
        (lambda m, c: _first(m.progress_events(c, after="17")), InvalidProgressError),
        (lambda m, c: _first(m.progress_events(c, after="1-2-3")), InvalidProgressError),
        (lambda m, c: _first(m.progress_events(c, check_every=0)), InvalidProgressError),
    ],
)
async def test_bad_input_raises_and_writes_nothing(
    manager: CacheManager, call: Callable[[CacheManager, str], Any], error: type[Exception]
) -> None:
    cid = f"op-{uuid4()}"
    await manager.start_progress_tracking(cid, 5)
    before = await manager.get_progress(cid)
    with pytest.raises(error) as raised:
        await call(manager, cid)
    assert isinstance(raised.value, InvalidInputError)
    assert await manager.get_progress(cid) == before


async def _first(events: AsyncIterator[ProgressEvent]) -> None:
    async for _ in events:
        return


def test_event_kinds_are_terminal_only_when_final() -> None:
    assert [kind.terminal for kind in EventKind] == [False, False, True, True]
