"""Domain entities: plain dataclasses holding the state the repositories persist.

``ProjectCache`` and ``UserSession`` are complete. ``Progress``, ``RateLimit`` and ``Task`` hold
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
    "MAX_VERSION",
    "Delivery",
    "ProjectCache",
    "Progress",
    "ProgressStatus",
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


MAX_VERSION = 2**53 - 1  # versions travel through Lua, whose numbers are doubles


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


@dataclass(frozen=True, slots=True)
class UserSession:
    """A user's session and the projects it may access.

    ``session_id`` is the raw ID, known only where the caller handed it in or it was just
    issued (create, validate, rotate); listings carry None. ``session_hash`` (SHA-256 hex of
    the ID) is what storage keys and logs hold. ``expires_at`` is the sliding idle expiry,
    never later than ``absolute_expires_at``. The raw ID is left out of ``repr``.
    """

    session_id: str | None = field(repr=False)
    session_hash: str
    user_id: UUID
    user_data: dict[str, Any]
    project_access: frozenset[UUID]
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
    absolute_expires_at: datetime

    def with_id(self, session_id: str) -> UserSession:
        """This session carrying its raw ID (repositories never see it; the service adds it)."""
        return UserSession(
            session_id,
            self.session_hash,
            self.user_id,
            self.user_data,
            self.project_access,
            self.created_at,
            self.last_activity,
            self.expires_at,
            self.absolute_expires_at,
        )

    @property
    def fingerprint(self) -> str:
        """A short prefix of ``session_hash`` for logs and displays (never the raw ID)."""
        return self.session_hash[:12]

    def can_access(self, project_id: UUID) -> bool:
        """True if ``project_id`` is in the session's access list."""
        return project_id in self.project_access


# -- data of the capabilities that later issues implement ----------------------------------


class ProgressStatus(enum.StrEnum):
    """Where a tracked operation stands; COMPLETED and FAILED are final."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Progress:
    """Progress of a long-running operation, identified by its correlation ID.

    ``last_event_id`` is the ID of the latest event in the operation's event log: a listener
    that read this state resumes after it without missing or repeating an update.
    ``project_id`` is the project that owns the operation (None: nobody's); over HTTP only a
    session with access to it may read the progress.
    """

    correlation_id: str
    total_steps: int
    current_step: int
    message: str
    status: ProgressStatus
    started_at: datetime
    updated_at: datetime
    error: str | None = None
    last_event_id: str | None = None
    project_id: UUID | None = None

    @property
    def percentage(self) -> float:
        """``current_step`` of ``total_steps`` in percent, to one decimal."""
        return round(100.0 * self.current_step / self.total_steps, 1)

    @property
    def finished(self) -> bool:
        """True once completed or failed: no update is accepted any more."""
        return self.status is not ProgressStatus.RUNNING

    def as_dict(self) -> dict[str, Any]:
        """The mapping ``get_progress`` returns (``percentage``, ``message``, ``status``...)."""
        return {
            "correlation_id": self.correlation_id,
            "status": self.status.value,
            "current_step": self.current_step,
            "total_steps": self.total_steps,
            "percentage": self.percentage,
            "message": self.message,
            "error": self.error,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "last_event_id": self.last_event_id,
            "project_id": self.project_id,
        }


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One window of a rate-limit check: how much of its quota an identifier has used.

    ``count`` requests were admitted in the last ``window_seconds`` (the checked one included
    when it was admitted). ``reset_seconds`` is the time until the oldest of them leaves the
    window and frees quota (0 when the window holds none). ``name`` is the window's name in
    the policy and in the HTTP headers (``minute``, ``api.hour``).
    """

    scope: str
    identifier: str
    name: str
    window_seconds: int
    limit: int
    count: int
    reset_seconds: float

    @property
    def remaining(self) -> int:
        """Requests the window still admits now."""
        return max(0, self.limit - self.count)

    @property
    def exceeded(self) -> bool:
        """True when the window admits nothing more until ``reset_seconds`` have passed."""
        return self.count >= self.limit


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
