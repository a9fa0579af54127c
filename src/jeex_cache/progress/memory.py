"""``ProgressRepository`` in process memory: the same contract as Redis, on an injected clock.

Each operation is a record plus a capped deque of events whose IDs mimic Redis Stream IDs
(``<ms>-<seq>``, strictly increasing per operation). Updates are synchronous code inside
coroutines, hence atomic on the event loop, and hand each new event to the open
subscriptions at once. Records are kept in update order, so expired ones are dropped from
the front on every write; reads check expiry lazily. An owner assigned before its operation
starts waits in ``_owners`` (expired ones leave through a heap of deadlines) until the start
takes it.

Records, their events and waiting owners are charged to the backend's ``MemoryBudget`` (see
the constants, measured with tracemalloc) and never evicted: a start or an update that does
not fit raises ``MemoryLimitError``, which the failure table turns into ``UNAVAILABLE``.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from jeex_cache.core.clock import Clock
from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.core.ttl import TTL
from jeex_cache.progress.model import (
    EventKind,
    Progress,
    ProgressEvent,
    ProgressOutcome,
    ProgressResult,
    ProgressStatus,
)
from jeex_cache.progress.rules import Change, ChangeKind, decide, event_order
from jeex_cache.progress.stream import Subscription

__all__ = ["MemoryProgressRepository"]

# What progress costs (tracemalloc, CPython 3.11, rounded up) beside the lengths of its
# texts: a record with its state, dates and table slot; each event it keeps; an owner
# assigned before the start.
RECORD_BYTES = 1_040
EVENT_BYTES = 260
OWNER_BYTES = 300


@dataclass(slots=True)
class _Record:
    progress: Progress
    events: deque[ProgressEvent]
    expires_ms: int
    last_id: tuple[int, int] = (0, 0)
    size: int = 0  # the bytes charged to the budget


class MemoryProgressRepository:
    """Progress records and event logs in dictionaries; see the module docstring."""

    def __init__(self, clock: Clock, max_events: int, budget: MemoryBudget | None = None) -> None:
        self._clock = clock
        self._budget = budget = MemoryBudget() if budget is None else budget
        budget.on_reclaim("progress", lambda: self._expire_due(self._now_ms()))
        self._max_events = max_events
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._listeners: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._owners: dict[str, tuple[CanonicalId, int]] = {}  # owner, expiry ms, before a start
        self._owner_deadlines: list[tuple[int, str]] = []

    def _now_ms(self) -> int:
        return int(self._clock.time() * 1000)

    def _live(self, cid: str, now_ms: int) -> _Record | None:
        record = self._records.get(cid)
        if record is not None and now_ms >= record.expires_ms:
            self._drop(cid)
            return None
        return record

    def _drop(self, cid: str) -> None:
        self._budget.release("progress", self._records.pop(cid).size)

    def _expire_due(self, now_ms: int) -> None:
        # Records are in update order; with one TTL that is expiry order.
        while self._records:
            cid, record = next(iter(self._records.items()))
            if now_ms < record.expires_ms:
                break
            self._drop(cid)
        deadlines = self._owner_deadlines
        while deadlines and deadlines[0][0] <= now_ms:
            expires, cid = heapq.heappop(deadlines)
            if self._owners.get(cid, (None, -1))[1] == expires:
                self._waiting_owner(cid, now_ms)

    def _waiting_owner(self, cid: str, now_ms: int) -> CanonicalId | None:
        owner, expires = self._owners.pop(cid, (None, 0))
        if owner is not None:
            self._budget.release("progress", OWNER_BYTES + len(cid))
        return owner if now_ms < expires else None

    async def start(
        self,
        correlation_id: str,
        total_steps: int,
        message: str,
        ttl: TTL,
        restart: bool,
        project_id: CanonicalId | None,
    ) -> ProgressResult:
        now = self._now_ms()
        self._expire_due(now)
        record = self._live(correlation_id, now)
        if record is not None and not restart:
            return ProgressResult(ProgressOutcome.EXISTS, record.progress)
        size = RECORD_BYTES + 49 + len(correlation_id) + _event_bytes(message, "")
        held = 0 if record is None else record.size  # a restart replaces the record
        self._budget.resize("progress", held, size)
        waiting = self._waiting_owner(correlation_id, now)
        if project_id is None:
            project_id = waiting if record is None else record.progress.project_id
        at = _from_ms(now)
        progress = Progress(
            correlation_id, total_steps, 0, message, ProgressStatus.RUNNING, at, at,
            project_id=project_id,
        )  # fmt: skip
        fresh = _Record(progress, deque(maxlen=self._max_events), now + ttl.milliseconds, size=size)
        if record is not None:  # a restart keeps the IDs growing for listeners already there
            fresh.last_id = record.last_id
        self._records[correlation_id] = fresh
        return self._append(fresh, EventKind.STARTED, progress, now, previous=record)

    async def assign(self, correlation_id: str, project_id: CanonicalId, ttl: TTL) -> bool:
        now = self._now_ms()
        self._expire_due(now)
        record = self._live(correlation_id, now)
        if record is not None:
            if record.progress.project_id is not None:
                return False
            record.progress = replace(record.progress, project_id=project_id)
            return True
        owner, expires = self._owners.get(correlation_id, (None, 0))
        if owner is not None and now < expires:
            return False
        if owner is None:
            self._budget.charge("progress", OWNER_BYTES + len(correlation_id))
        expires = now + ttl.milliseconds
        self._owners[correlation_id] = (project_id, expires)
        heapq.heappush(self._owner_deadlines, (expires, correlation_id))
        return True

    async def apply(self, correlation_id: str, change: Change, ttl: TTL) -> ProgressResult:
        now = self._now_ms()
        self._expire_due(now)
        record = self._live(correlation_id, now)
        if record is None:
            return ProgressResult(ProgressOutcome.UNKNOWN)
        outcome, step = decide(record.progress, change)
        if outcome is not ProgressOutcome.APPLIED:
            return ProgressResult(outcome, record.progress)
        kind = change.kind.event
        error = change.error if change.kind is ChangeKind.FAIL else None
        size = record.size + _event_bytes(change.message, error or "")
        events = record.events
        if events.maxlen is not None and len(events) >= events.maxlen:  # its oldest leaves
            size -= _event_bytes(events[0].message, events[0].error or "")
        self._budget.resize("progress", record.size, size)
        record.size = size
        progress = replace(
            record.progress,
            current_step=step,
            message=change.message,
            status=kind.status,
            error=error,
            updated_at=_from_ms(now),
        )
        record.expires_ms = now + ttl.milliseconds
        self._records.move_to_end(correlation_id)
        return self._append(record, kind, progress, now, previous=record)

    def _append(
        self,
        record: _Record,
        kind: EventKind,
        progress: Progress,
        now_ms: int,
        previous: _Record | None,
    ) -> ProgressResult:
        ms, seq = record.last_id
        record.last_id = (now_ms, 0) if now_ms > ms else (ms, seq + 1)
        event_id = f"{record.last_id[0]}-{record.last_id[1]}"
        before = None if previous is None else previous.progress.last_event_id
        record.progress = progress = replace(progress, last_event_id=event_id)
        event = ProgressEvent(
            id=event_id,
            correlation_id=progress.correlation_id,
            kind=kind,
            current_step=progress.current_step,
            total_steps=progress.total_steps,
            message=progress.message,
            error=progress.error,
            timestamp=progress.updated_at,
            previous_id=before,
        )
        record.events.append(event)
        for listener in self._listeners.get(progress.correlation_id, ()):
            listener.push(event)
        return ProgressResult(ProgressOutcome.APPLIED, progress, event_id)

    async def get(self, correlation_id: str) -> Progress | None:
        record = self._live(correlation_id, self._now_ms())
        return None if record is None else record.progress

    async def read(
        self, correlation_id: str, after: str | None, limit: int
    ) -> tuple[Progress | None, list[ProgressEvent]]:
        record = self._live(correlation_id, self._now_ms())
        if record is None:
            return None, []
        events = list(record.events)
        if after is not None:
            position = event_order(after)
            events = [event for event in events if event_order(event.id) > position]
        return record.progress, events[:limit]

    @asynccontextmanager
    async def subscribe(self, correlation_id: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        listeners = self._listeners[correlation_id]
        listeners.add(subscription)
        try:
            yield subscription
        finally:
            listeners.discard(subscription)
            if not listeners:
                self._listeners.pop(correlation_id, None)


def _event_bytes(message: str, error: str) -> int:
    return EVENT_BYTES + len(message) + len(error)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
