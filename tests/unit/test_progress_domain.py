"""Progress rules, event IDs, the live subscription buffer and the SSE encoding, in isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeex_cache import InvalidIdentifierError, InvalidProgressError, Progress, ProgressStatus
from jeex_cache.core.clock import ManualClock
from jeex_cache.core.ttl import as_ttl
from jeex_cache.fastapi.progress import server_sent
from jeex_cache.progress.memory import MemoryProgressRepository
from jeex_cache.progress.model import EventKind, ProgressEvent, ProgressOutcome
from jeex_cache.progress.rules import Change, ChangeKind, decide, event_order, parse_event_id
from jeex_cache.progress.service import ProgressService
from jeex_cache.progress.stream import Signal, Subscription

AT = datetime(2025, 1, 1, tzinfo=UTC)


def progress(
    step: int, total: int = 4, status: ProgressStatus = ProgressStatus.RUNNING
) -> Progress:
    return Progress("op", total, step, "", status, AT, AT)


def event(number: int, kind: EventKind = EventKind.PROGRESS) -> ProgressEvent:
    previous = f"{number - 1}-0" if number > 1 else None
    return ProgressEvent(f"{number}-0", "op", kind, number, 10, f"#{number}", None, AT, previous)


@pytest.mark.parametrize(
    ("state", "change", "expected"),
    [
        (progress(1), Change(ChangeKind.INCREMENT, ""), (ProgressOutcome.APPLIED, 2)),
        (progress(4), Change(ChangeKind.INCREMENT, ""), (ProgressOutcome.BEYOND_TOTAL, 4)),
        (progress(2), Change(ChangeKind.SET, "", step=2), (ProgressOutcome.APPLIED, 2)),
        (progress(2), Change(ChangeKind.SET, "", step=1), (ProgressOutcome.BACKWARDS, 2)),
        (progress(2), Change(ChangeKind.SET, "", step=5), (ProgressOutcome.BEYOND_TOTAL, 2)),
        (progress(1), Change(ChangeKind.COMPLETE, ""), (ProgressOutcome.APPLIED, 4)),
        (progress(1), Change(ChangeKind.FAIL, "x", error="x"), (ProgressOutcome.APPLIED, 1)),
        (
            progress(4, status=ProgressStatus.COMPLETED),
            Change(ChangeKind.SET, "", step=4),
            (ProgressOutcome.FINISHED, 4),
        ),
        (
            progress(1, status=ProgressStatus.FAILED),
            Change(ChangeKind.FAIL, "x", error="x"),
            (ProgressOutcome.FINISHED, 1),
        ),
    ],
)
def test_decide(state: Progress, change: Change, expected: tuple[ProgressOutcome, int]) -> None:
    assert decide(state, change) == expected


def test_percentage_and_mapping() -> None:
    state = progress(1, total=3)
    assert state.percentage == 33.3
    assert progress(3, total=3).percentage == 100.0
    mapping = state.as_dict()
    assert {"percentage", "message", "current_step", "total_steps", "status"} <= set(mapping)
    assert mapping["status"] == "running"


@pytest.mark.parametrize("value", ["0-0", "1700000000000-0", "1700000000000-12"])
def test_event_ids_accepted(value: str) -> None:
    assert parse_event_id(value) == value


@pytest.mark.parametrize("value", ["", "17", "a-b", "1-2-3", " 1-2", "1-2\n", "-1-0", 5, None])
def test_event_ids_refused(value: object) -> None:
    with pytest.raises(InvalidProgressError):
        parse_event_id(value)  # type: ignore[arg-type]


@given(st.tuples(st.integers(0, 2**63), st.integers(0, 2**63)), st.integers(0, 2**63))
def test_event_order_is_numeric(first: tuple[int, int], ms: int) -> None:
    a = f"{first[0]}-{first[1]}"
    assert event_order(a) == first
    assert (event_order(f"{ms}-0") < event_order(a)) == ((ms, 0) < first)


async def test_subscription_delivers_in_order_then_idles() -> None:
    live = Subscription()
    live.push(event(1))
    live.push(event(2))
    assert await live.next(1) == event(1)
    assert await live.next(1) == event(2)
    assert await live.next(0.01) is Signal.IDLE


async def test_subscription_wakes_a_waiting_listener() -> None:
    live = Subscription()
    waiting = asyncio.create_task(live.next(5))
    await asyncio.sleep(0)
    live.push(event(1))
    assert await waiting == event(1)


async def test_a_full_subscription_reports_a_gap_instead_of_blocking() -> None:
    live = Subscription(limit=3)
    for number in range(1, 6):
        live.push(event(number))
    assert await live.next(1) is Signal.GAP
    live.push(event(6))
    assert await live.next(1) == event(6)


async def test_a_lost_subscription_says_so_and_takes_nothing_more() -> None:
    live = Subscription()
    live.push(event(1))
    live.lose()
    live.push(event(2))
    assert await live.next(1) is Signal.LOST
    assert live.lost


def test_an_event_is_one_frame_with_its_id_kind_and_one_line_of_json() -> None:
    frame = server_sent(event(3, EventKind.COMPLETED)).encode()
    head, data = frame.split(b"\ndata: ")
    assert head == b"id: 3-0\nevent: completed"
    assert data.endswith(b"\n\n")
    assert b"\n" not in data[:-2]
    assert b'"status":"completed"' in data


async def test_a_kept_operation_id_keeps_its_project_scope() -> None:
    """The service keeps the IDs it resolved; a kept one is still refused for another
    project, and a refused one is refused every time."""
    service = ProgressService(MemoryProgressRepository(ManualClock(), 100), as_ttl(60))
    mine, theirs = uuid4(), uuid4()
    for _ in range(2):  # resolved, then kept
        started = await service.start("report", 3, restart=True, project_id=mine)
        assert started.progress is not None
        scoped = started.progress.correlation_id
        assert scoped == f"@{mine.hex}@report"
        assert (await service.increment("report", project=mine)).progress is not None
    for _ in range(2):
        with pytest.raises(InvalidIdentifierError):
            await service.increment(scoped, project=theirs)
        with pytest.raises(InvalidIdentifierError):
            await service.increment("not an id!")
    assert (await service.increment(scoped)).progress is not None  # its own scope, as named
