"""Progress tracking's value types and rules: changes, outcomes, events and their IDs.

An operation's progress is a record plus an append-only, capped event log. Every accepted
change appends one event; events carry IDs that only grow (``<ms>-<seq>``, the Redis Stream
ID format on both backends), so a listener resumes exactly after the last event it saw.
``decide`` is the one statement of the update rules; the Redis script mirrors it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jeex_cache.core.errors import InvalidProgressError
from jeex_cache.core.identifiers import CanonicalId

__all__ = [
    "EventKind",
    "Progress",
    "ProgressEvent",
    "ProgressOutcome",
    "ProgressResult",
    "ProgressStatus",
    "UNAVAILABLE",
]


class EventKind(enum.StrEnum):
    """What an event records; COMPLETED and FAILED are terminal (the log's last event)."""

    STARTED = "started"
    PROGRESS = "progress"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """True for COMPLETED and FAILED."""
        return self in (EventKind.COMPLETED, EventKind.FAILED)

    @property
    def status(self) -> ProgressStatus:
        """The operation's status once this event is recorded."""
        if self is EventKind.COMPLETED:
            return ProgressStatus.COMPLETED
        if self is EventKind.FAILED:
            return ProgressStatus.FAILED
        return ProgressStatus.RUNNING


class ProgressOutcome(enum.Enum):
    """What became of a start or an update. Only APPLIED changed anything."""

    APPLIED = "applied"
    UNKNOWN = "unknown"  # never started, or expired: refused, never recreated
    FINISHED = "finished"  # already completed or failed: final
    BACKWARDS = "backwards"  # the step is below the current one
    BEYOND_TOTAL = "beyond_total"  # the step would pass total_steps
    EXISTS = "exists"  # start: the operation is already tracked (restart=True replaces it)
    UNAVAILABLE = "unavailable"  # the backend failed; nothing is known to be recorded


_EVENT_ID = re.compile(r"(\d{1,19})-(\d{1,19})")


@dataclass(frozen=True, slots=True)
class ProgressResult:
    """The result of a start or an update; truthy when applied.

    ``progress`` is the state after the change, or the unchanged state that refused it
    (None when the operation is unknown or the backend failed); ``event_id`` is the ID of
    the event the change appended.
    """

    outcome: ProgressOutcome
    progress: Progress | None = None
    event_id: str | None = None

    @property
    def applied(self) -> bool:
        """True when the change was recorded."""
        return self.outcome is ProgressOutcome.APPLIED

    def __bool__(self) -> bool:
        return self.outcome is ProgressOutcome.APPLIED


UNAVAILABLE = ProgressResult(ProgressOutcome.UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One entry of an operation's event log: the state right after one change.

    ``previous_id`` is the ID of the event before it (None for the first ever): a listener
    whose last event is not ``previous_id`` has missed something and reads the log again.
    """

    id: str
    correlation_id: str
    kind: EventKind
    current_step: int
    total_steps: int
    message: str
    error: str | None
    timestamp: datetime
    previous_id: str | None = None

    @staticmethod
    def parse_id(value: str) -> str:
        """An event ID, ``<ms>-<seq>`` (what a listener got as ``id``); else
        ``InvalidProgressError``."""
        if not isinstance(value, str) or _EVENT_ID.fullmatch(value) is None:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise InvalidProgressError(f"an event ID looks like '1700000000000-0', got {shown}")
        return value

    @staticmethod
    def order(event_id: str) -> tuple[int, int]:
        """A sortable form of an event ID: later events compare greater."""
        ms, _, seq = event_id.partition("-")
        return int(ms), int(seq)

    @property
    def terminal(self) -> bool:
        """True for the completed or failed event that ends the log."""
        return self.kind.terminal

    @property
    def status(self) -> ProgressStatus:
        """The operation's status after this event."""
        return self.kind.status

    @property
    def percentage(self) -> float:
        """``current_step`` of ``total_steps`` in percent, to one decimal."""
        return round(100.0 * self.current_step / self.total_steps, 1)

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data (the ``data`` of a Server-Sent Event)."""
        return {
            "id": self.id,
            "correlation_id": self.correlation_id,
            "kind": self.kind.value,
            "status": self.status.value,
            "current_step": self.current_step,
            "total_steps": self.total_steps,
            "percentage": self.percentage,
            "message": self.message,
            "error": self.error,
            "timestamp": self.timestamp.isoformat(),
        }


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
    project_id: CanonicalId | None = None

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
