"""Domain entities: plain dataclasses holding the state the repositories persist.

``ProjectCache`` is complete. ``UserSession``, ``Progress``, ``RateLimit`` and ``Task`` hold
the spec's data; their behaviour arrives with the issues that implement those capabilities.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from jeex_cache.domain.value_objects import CacheTag

__all__ = [
    "Delivery",
    "ProjectCache",
    "Progress",
    "RateLimit",
    "Task",
    "TaskClaim",
    "TaskStatus",
    "UserSession",
    "WriteOutcome",
    "WriteResult",
]


@dataclass(frozen=True, slots=True)
class ProjectCache:
    """One cached document of a project, with its version and access statistics.

    ``name`` is None for the project's main document (``cache_project_data``) and the entry
    name for entries of the project-scoped view. A write creates a fresh entry: it resets
    ``created_at`` and the access statistics.
    """

    project_id: UUID
    name: str | None
    data: Any
    version: int
    created_at: datetime
    expires_at: datetime
    access_count: int = 0
    last_accessed_at: datetime | None = None
    tags: frozenset[CacheTag] = field(default_factory=frozenset)

    def ttl_remaining(self, now: datetime) -> float:
        """Seconds until the entry expires (0 when it already has)."""
        return max(0.0, (self.expires_at - now).total_seconds())

    def is_expired(self, now: datetime) -> bool:
        """True once ``now`` has reached the expiry time."""
        return now >= self.expires_at


class WriteOutcome(enum.Enum):
    """What became of a cache write."""

    STORED = "stored"
    STALE = "stale"  # refused: the stored version is newer than the one written
    FAILED = "failed"  # the backend failed; nothing is known to be written


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The result of a versioned write; truthy when the value was stored.

    ``version`` is the version now stored under the key (the written one when STORED, the
    newer one that refused the write when STALE, None when FAILED).
    """

    outcome: WriteOutcome
    version: int | None

    @property
    def stored(self) -> bool:
        """True when the value was written."""
        return self.outcome is WriteOutcome.STORED

    def __bool__(self) -> bool:
        return self.outcome is WriteOutcome.STORED


# -- data of the capabilities that later issues implement ----------------------------------


@dataclass(slots=True)
class UserSession:
    """A user's session and the projects it may access."""

    session_id: str
    user_id: UUID
    user_data: dict[str, Any]
    project_access: frozenset[UUID]
    created_at: datetime
    last_activity: datetime
    expires_at: datetime


@dataclass(slots=True)
class Progress:
    """Progress of a long-running operation, identified by its correlation ID."""

    correlation_id: str
    total_steps: int
    current_step: int
    message: str
    status: str
    started_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class RateLimit:
    """The state of one limited identifier in one window."""

    scope: str
    identifier: str
    window_seconds: int
    count: int
    reset_at: datetime


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
    ``scheduled_at`` is when the task is (or was last) due to run.
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a task to a worker; ``attempt`` is its lease on the task."""

    task_id: str
    queue: str
    name: str
    payload: Any
    attempt: int
    max_attempts: int
    redeliveries: int = 0


@dataclass(frozen=True, slots=True)
class TaskClaim:
    """What a claim got: a delivery, or how long until one may be due.

    ``wait`` is in seconds; None when nothing is scheduled and nothing is running, so only a
    new task can bring work.
    """

    delivery: Delivery | None
    wait: float | None = None
