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
from uuid import UUID

from jeex_cache.core.errors import InvalidProgressError
from jeex_cache.core.identifiers import validate_token
from jeex_cache.domain.entities import Progress, ProgressStatus

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "MAX_STEPS",
    "UNAVAILABLE",
    "Change",
    "ChangeKind",
    "EventKind",
    "ProgressEvent",
    "ProgressOutcome",
    "ProgressResult",
    "decide",
    "event_order",
    "parse_correlation_id",
    "parse_event_id",
    "validate_message",
    "validate_step",
    "validate_total_steps",
]

MAX_STEPS = 1_000_000_000
MAX_MESSAGE_LENGTH = 1_000
_EVENT_ID = re.compile(r"(\d{1,19})-(\d{1,19})")


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


class ChangeKind(enum.Enum):
    """The update operations; the value is how the Redis script names them."""

    INCREMENT = "inc"
    SET = "set"
    COMPLETE = "done"
    FAIL = "fail"

    @property
    def event(self) -> EventKind:
        """The kind of event an accepted change appends."""
        return _EVENT_OF[self]


_EVENT_OF = {
    ChangeKind.INCREMENT: EventKind.PROGRESS,
    ChangeKind.SET: EventKind.PROGRESS,
    ChangeKind.COMPLETE: EventKind.COMPLETED,
    ChangeKind.FAIL: EventKind.FAILED,
}


@dataclass(frozen=True, slots=True)
class Change:
    """One validated update: its kind, the step for SET, the message and the error for FAIL."""

    kind: ChangeKind
    message: str
    step: int | None = None
    error: str = ""


class ProgressOutcome(enum.Enum):
    """What became of a start or an update. Only APPLIED changed anything."""

    APPLIED = "applied"
    UNKNOWN = "unknown"  # never started, or expired: refused, never recreated
    FINISHED = "finished"  # already completed or failed: final
    BACKWARDS = "backwards"  # the step is below the current one
    BEYOND_TOTAL = "beyond_total"  # the step would pass total_steps
    EXISTS = "exists"  # start: the operation is already tracked (restart=True replaces it)
    UNAVAILABLE = "unavailable"  # the backend failed; nothing is known to be recorded


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


def decide(progress: Progress, change: Change) -> tuple[ProgressOutcome, int]:
    """Whether ``change`` may apply to ``progress``, and the step it leads to.

    Finished operations are final; steps never go backwards or past the total. SET to the
    current step is accepted (a new message, or a harmless retry).
    """
    if progress.finished:
        return ProgressOutcome.FINISHED, progress.current_step
    current = progress.current_step
    if change.kind is ChangeKind.INCREMENT:
        step = current + 1
    elif change.kind is ChangeKind.SET:
        step = current if change.step is None else change.step
    elif change.kind is ChangeKind.COMPLETE:
        step = progress.total_steps
    else:
        step = current
    if step < current:
        return ProgressOutcome.BACKWARDS, current
    if step > progress.total_steps:
        return ProgressOutcome.BEYOND_TOTAL, current
    return ProgressOutcome.APPLIED, step


def parse_correlation_id(value: UUID | str) -> str:
    """A UUID or a token of ``[A-Za-z0-9_.-@+=]``, 1-128 long (so any task ID works too).

    The rule ``CacheKey.progress`` applies. A UUID, also given as a string in any case,
    becomes its canonical lower-case form, so ``uuid`` and ``str(uuid).upper()`` agree.
    """
    if isinstance(value, UUID):
        return str(value)
    token = validate_token(value, "correlation ID")
    if len(token) == 36 and token.count("-") == 4:
        try:
            return str(UUID(token))
        except ValueError:
            pass
    return token


def validate_total_steps(value: int) -> int:
    """An integer in [1, ``MAX_STEPS``]."""
    if type(value) is not int or not 1 <= value <= MAX_STEPS:
        raise InvalidProgressError(
            f"total_steps must be an integer from 1 to {MAX_STEPS}, got {value!r}"
        )
    return value


def validate_step(value: int) -> int:
    """An integer in [0, ``MAX_STEPS``] (whether it fits the total is the record's call)."""
    if type(value) is not int or not 0 <= value <= MAX_STEPS:
        raise InvalidProgressError(f"step must be an integer from 0 to {MAX_STEPS}, got {value!r}")
    return value


def validate_message(value: str, what: str = "message") -> str:
    """A string of at most ``MAX_MESSAGE_LENGTH`` characters."""
    if not isinstance(value, str):
        raise InvalidProgressError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > MAX_MESSAGE_LENGTH:
        raise InvalidProgressError(
            f"{what} is {len(value)} characters long; the limit is {MAX_MESSAGE_LENGTH}"
        )
    return value


def parse_event_id(value: str) -> str:
    """An event ID, ``<ms>-<seq>`` (what a listener got as ``ProgressEvent.id``)."""
    if not isinstance(value, str) or _EVENT_ID.fullmatch(value) is None:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise InvalidProgressError(f"an event ID looks like '1700000000000-0', got {shown}")
    return value


def event_order(event_id: str) -> tuple[int, int]:
    """A sortable form of an event ID: later events compare greater."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq)
