"""Progress updates' validation and rules: changes, ``decide``, event IDs."""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from uuid import UUID

from jeex_cache.core.errors import InvalidProgressError
from jeex_cache.core.identifiers import CanonicalId, scope_id, scope_of, validate_token
from jeex_cache.progress.model import EventKind, Progress, ProgressEvent, ProgressOutcome

__all__ = [
    "Change",
    "ChangeKind",
    "MAX_MESSAGE_LENGTH",
    "MAX_STEPS",
    "decide",
    "event_order",
    "parse_correlation_id",
    "parse_event_id",
    "scoped_correlation_id",
    "validate_message",
    "validate_step",
    "validate_total_steps",
]


MAX_STEPS = 1_000_000_000


MAX_MESSAGE_LENGTH = 1_000


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
    project, own = scope_of(value) if isinstance(value, str) else (None, value)
    token = validate_token(own, "correlation ID")
    if len(token) == 36 and token.count("-") == 4:
        with contextlib.suppress(ValueError):
            token = str(UUID(token))
    return scope_id(token, project)


def scoped_correlation_id(value: UUID | str, project: CanonicalId | None) -> str:
    """``parse_correlation_id`` in ``project``'s scope (``core.identifiers.scope_id``)."""
    return scope_id(parse_correlation_id(value), project)


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


parse_event_id = ProgressEvent.parse_id
"""An event ID, ``<ms>-<seq>`` (``ProgressEvent.parse_id``)."""

event_order = ProgressEvent.order
"""A sortable form of an event ID (``ProgressEvent.order``)."""
