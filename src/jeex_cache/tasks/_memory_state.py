"""The in-process task store's state: task records and queues (see ``tasks.memory``).

A queue's ready tasks are grouped by project, as on Redis: each group keeps two heaps (by
priority, by age) with lazy deletion (an entry stands while it is its record's current
``ready_sq``), and the ring holds the groups with ready tasks in turn order. A group lives
while it has open tasks (queued, delayed, running or awaiting a retry), then while its pacing
state matters (see ``Pacer.until``); the repository then drops it (``forget``).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jeex_cache.core.codec import decode
from jeex_cache.tasks._memory_pace import Pacer
from jeex_cache.tasks._wake import Wake
from jeex_cache.tasks.model import Task, TaskStatus

__all__ = ["NO_PROJECT", "Group", "QueueState", "Record", "task_of"]

NO_PROJECT = "-"


@dataclass(slots=True)
class Record:
    """One task's record: what Redis keeps under ``<id>|...`` in ``:rec``, plus entries."""

    queue: str
    name: str
    payload: bytes
    max_attempts: int
    created_ms: int
    updated_ms: int
    due_ms: int
    group: str = NO_PROJECT
    priority: int = 0
    status: TaskStatus = TaskStatus.QUEUED
    attempts: int = 0
    lease: int = 0  # the attempt of the delivery that may settle it; 0: none
    entry: int = -1  # the sequence number of its scheduled-heap entry; -1: none
    sq: int = -1  # its place in its group (kept across a release or a redelivery)
    ready_sq: int = -1  # its live entry in its group's heaps; -1: not ready
    started_ms: int | None = None
    finished_ms: int | None = None
    result: bytes | None = None
    error: str | None = None
    redeliveries: int = 0
    expires_ms: int | None = None  # only finished tasks expire
    cost: int = 1  # its weight in its project's pace
    size: int = 0  # the bytes charged to the memory budget
    trace: str | None = None  # the enqueue's trace context (``tasks.tracing``)


@dataclass(slots=True)
class Group:
    """One project's ready tasks in a queue."""

    by_priority: list[tuple[int, int, str]] = field(default_factory=list)  # (-prio, sq, id)
    by_age: list[tuple[int, str]] = field(default_factory=list)  # (sq, id)
    live: int = 0
    claims: int = 0
    open: int = 0  # its tasks not finished: queued, delayed, running, awaiting a retry
    lingers: bool = False  # empty, kept until its pacing state runs out (one timer entry)


@dataclass(slots=True)
class QueueState:
    """One queue: scheduled heap, groups and their ring, leases, dead letters, wake-ups."""

    pending: list[tuple[int, int, str]] = field(default_factory=list)  # (due, entry, id)
    running: dict[str, int] = field(default_factory=dict)  # id -> visibility deadline
    dead: dict[str, int] = field(default_factory=dict)  # id -> buried at (insertion order)
    wake: Wake = field(default_factory=Wake)
    stale: int = 0  # scheduled-heap entries no longer their record's current one
    groups: dict[str, Group] = field(default_factory=dict)
    ring: OrderedDict[str, None] = field(default_factory=OrderedDict)
    parked: set[str] = field(default_factory=set)  # groups at their cap, with ready tasks
    running_by_group: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    pacer: Pacer = field(default_factory=Pacer)

    def activate(self, group: str) -> None:
        """Give ``group`` a turn, unless it has one, is parked at its cap or paced."""
        if group not in self.ring and group not in self.parked and group not in self.pacer.paced:
            self.ring[group] = None

    def pace_out(self, group: str, at: int) -> None:
        """Hold ``group`` out of the ring until ms ``at``."""
        self.ring.pop(group, None)
        self.pacer.paced[group] = at

    def unpace(self, now: int) -> None:
        """Paced groups whose time came get their turn back."""
        for group in self.pacer.due(now):
            self.activate(group)

    def make_ready(self, task_id: str, record: Record, keep_place: bool) -> None:
        """Put a waiting task into its group; ``keep_place`` keeps its old sequence."""
        if not keep_place or record.sq < 0:
            self.seq += 1
            record.sq = self.seq
        record.ready_sq = record.sq
        group = self.groups[record.group]  # it has an open task: the repository made it
        heapq.heappush(group.by_priority, (-record.priority, record.sq, task_id))
        heapq.heappush(group.by_age, (record.sq, task_id))
        group.live += 1
        self.activate(record.group)

    def unready(self, record: Record) -> None:
        """Take a task out of its group (its heap entries go stale)."""
        if record.ready_sq >= 0:
            record.ready_sq = -1
            group = self.groups[record.group]
            group.live -= 1
            if group.live == 0:  # only stale entries are left
                group.by_priority.clear()
                group.by_age.clear()

    def leave_running(self, task_id: str, record: Record | None) -> None:
        """A running delivery ended: free its group's slot, and unpark the group."""
        if self.running.pop(task_id, None) is None or record is None:
            return
        count = self.running_by_group.get(record.group, 0) - 1
        if count > 0:
            self.running_by_group[record.group] = count
        else:
            self.running_by_group.pop(record.group, None)
        if record.group in self.parked:
            self.parked.discard(record.group)
            self.activate(record.group)

    def forget(self, group: str) -> None:
        """Drop ``group``, which has no open task left, with its pacing state."""
        del self.groups[group]
        self.ring.pop(group, None)
        self.parked.discard(group)
        self.pacer.forget(group)

    def take(self, records: dict[str, Record], cap: int, aging: int, now: int) -> str | bool:
        """The next ready task's ID (see ``_task_lib.lua``'s ``take``), False, or True
        (busy: ask again)."""
        for _ in range(16):
            if not self.ring:
                return False
            name = next(iter(self.ring))
            group = self.groups[name]
            if cap and self.running_by_group.get(name, 0) >= cap:
                del self.ring[name]
                self.parked.add(name)
                continue
            if group.live <= 0:
                del self.ring[name]
                group.claims = 0
                continue
            group.claims += 1
            by_age = aging > 0 and group.claims % aging == 0
            task_id = _peek_live(group, records, by_age)
            at = self.pacer.check(name, records[task_id].cost, now)
            if at:
                self.pace_out(name, at)
                continue
            self.unready(records[task_id])
            if group.live > 0:
                self.ring.move_to_end(name)
            else:
                del self.ring[name]
                group.claims = 0
            self.running_by_group[name] = self.running_by_group.get(name, 0) + 1
            return task_id
        return True


def _peek_live(group: Group, records: dict[str, Record], by_age: bool) -> str:
    """The group's first live task in either order (stale entries before it are dropped;
    ``unready`` makes the task's entries stale once it is taken)."""

    def live(sq: int, task_id: str) -> bool:
        record = records.get(task_id)
        return record is not None and record.ready_sq == sq

    if by_age:
        while not live(*group.by_age[0]):
            heapq.heappop(group.by_age)
        return group.by_age[0][1]
    while not live(*group.by_priority[0][1:]):
        heapq.heappop(group.by_priority)
    return group.by_priority[0][2]


def task_of(task_id: str, r: Record) -> Task:
    """The public ``Task`` of a record."""
    return Task(
        task_id=task_id,
        queue=r.queue,
        name=r.name,
        payload=decode(r.payload),
        status=r.status,
        attempts=r.attempts,
        max_attempts=r.max_attempts,
        created_at=_at(r.created_ms),
        updated_at=_at(r.updated_ms),
        scheduled_at=_at(r.due_ms),
        started_at=None if r.started_ms is None else _at(r.started_ms),
        finished_at=None if r.finished_ms is None else _at(r.finished_ms),
        result=None if r.result is None else decode(r.result),
        error=r.error,
        redeliveries=r.redeliveries,
        project_id=None if r.group == NO_PROJECT else r.group,
        priority=r.priority,
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
