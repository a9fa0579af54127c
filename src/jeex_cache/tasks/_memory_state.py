"""The in-process task store's state: task records and queues (see ``tasks.memory``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from jeex_cache.core.codec import decode
from jeex_cache.tasks._wake import Wake
from jeex_cache.tasks.model import Task, TaskStatus

__all__ = ["QueueState", "Record", "task_of"]


@dataclass(slots=True)
class Record:
    """One task's record: what Redis keeps in ``task:{<id>}``, plus its heap entry."""

    queue: str
    name: str
    payload: bytes
    max_attempts: int
    created_ms: int
    updated_ms: int
    due_ms: int
    status: TaskStatus = TaskStatus.QUEUED
    attempts: int = 0
    lease: int = 0  # the attempt of the delivery that may settle the task; 0: none
    entry: int = -1  # the sequence number of its current heap entry; -1: none
    started_ms: int | None = None
    finished_ms: int | None = None
    result: bytes | None = None
    error: str | None = None
    redeliveries: int = 0
    expires_ms: int | None = None  # only finished tasks expire


@dataclass(slots=True)
class QueueState:
    """One queue: due heap, leases, dead letters, and the wake-up tokens."""

    pending: list[tuple[int, int, str]] = field(default_factory=list)  # (due, entry, id)
    running: dict[str, int] = field(default_factory=dict)  # id -> visibility deadline
    dead: dict[str, int] = field(default_factory=dict)  # id -> buried at (insertion order)
    wake: Wake = field(default_factory=Wake)
    stale: int = 0  # heap entries no longer their record's current one


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
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
