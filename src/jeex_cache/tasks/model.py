"""Background tasks, their statuses, deliveries and claims."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

__all__ = [
    "Delivery", "Pace", "QueueStats", "Settled", "Task", "TaskClaim", "TaskStatus",
    "assemble_delivery",
]  # fmt: skip


class TaskStatus(enum.Enum):
    """Where a background task stands.

    ``failed`` means the latest attempt failed and a retry is scheduled; ``dead`` that every
    attempt failed (the task is in its queue's dead-letter list, from which it can be
    re-queued). ``succeeded``, ``dead`` and ``cancelled`` end a task.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the states no worker will move the task out of."""
        return self in _FINISHED


_FINISHED = frozenset({TaskStatus.SUCCEEDED, TaskStatus.DEAD, TaskStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class Task:
    """A background task and its status, as ``get_task_status`` reports it.

    ``attempts`` counts deliveries to a handler (a delivery lost with its worker counts);
    ``redeliveries`` those made because a worker disappeared without acknowledging.
    ``scheduled_at`` is when the task is (or was last) due to run. ``project_id`` is the
    tenant whose turn it takes (None: the queue's group of tasks without a project).
    """

    task_id: str
    queue: str
    name: str
    payload: Any
    status: TaskStatus
    attempts: int
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    scheduled_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Any = None
    error: str | None = None
    redeliveries: int = 0
    project_id: str | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a task to a worker; ``attempt`` is its lease on the task.

    ``trace`` is the trace context of its enqueue, encoded (see ``tasks.tracing``); None when
    no tracer recorded one."""

    task_id: str
    queue: str
    name: str
    payload: Any
    attempt: int
    max_attempts: int
    redeliveries: int = 0
    project_id: str | None = None
    trace: str | None = None


_SETTERS = tuple(getattr(Delivery, f.name).__set__ for f in fields(Delivery))
(_SET_ID, _SET_QUEUE, _SET_NAME, _SET_PAYLOAD, _SET_ATTEMPT, _SET_MAX, _SET_REDELIVERIES,
 _SET_PROJECT, _SET_TRACE) = _SETTERS  # fmt: skip
_new = object.__new__


def assemble_delivery(
    task_id: str,
    queue: str,
    name: str,
    payload: Any,
    attempt: int,
    max_attempts: int,
    redeliveries: int,
    project_id: str | None,
    trace: str | None,
) -> Delivery:
    """``Delivery(...)``, each field set by its slot rather than by the frozen ``__init__``'s
    ``object.__setattr__`` (half the cost): a claim builds one for every task it leases."""
    delivery: Delivery = _new(Delivery)
    _SET_ID(delivery, task_id)
    _SET_QUEUE(delivery, queue)
    _SET_NAME(delivery, name)
    _SET_PAYLOAD(delivery, payload)
    _SET_ATTEMPT(delivery, attempt)
    _SET_MAX(delivery, max_attempts)
    _SET_REDELIVERIES(delivery, redeliveries)
    _SET_PROJECT(delivery, project_id)
    _SET_TRACE(delivery, trace)
    return delivery


@dataclass(frozen=True, slots=True)
class TaskClaim:
    """What a claim got: a delivery, or how long until one may be due.

    ``wait`` is in seconds; None when nothing is scheduled and nothing is running, so only a
    new task can bring work.
    """

    delivery: Delivery | None
    wait: float | None = None


@dataclass(frozen=True, slots=True)
class Settled:
    """What one batched settlement did: ``done`` per completion (False: its lease had passed
    to another delivery), the ``deliveries`` leased, and, when none was, the ``wait`` in
    seconds as in ``TaskClaim`` (0: ask again at once)."""

    done: tuple[bool, ...]
    deliveries: tuple[Delivery, ...]
    wait: float | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """How many tasks a queue holds: waiting (due or delayed), running (leased), dead.

    ``running_ids``: some of the running tasks (at most the sample asked for), whose progress
    a dashboard can show. Counts may include entries a later call prunes (an expired dead
    record), so they are gauges, not an audit.
    """

    queue: str
    pending: int
    running: int
    dead: int
    running_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pace:
    """A project's pace on a queue: ``rate`` tasks (of cost 1) a second, up to ``burst`` at
    once after a quiet spell (a generic cell rate: one task per ``1 / rate`` seconds)."""

    rate: float
    burst: int = 1

    @property
    def interval_ms(self) -> float:
        """Milliseconds between two tasks of cost 1."""
        return 1000.0 / self.rate
