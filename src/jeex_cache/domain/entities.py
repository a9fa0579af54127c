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
    "ProjectCache",
    "Progress",
    "RateLimit",
    "Task",
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


@dataclass(slots=True)
class Task:
    """A background task and its status."""

    task_id: str
    queue: str
    name: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
