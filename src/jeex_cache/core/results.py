"""Results that tell "found nothing" from "could not look": what a degraded read returns.

A read through the failure policy answers a miss while the backend is down, so a caller that
must tell the two apart (an HTTP route choosing between 404 and 503) asks for a
``ReadResult``: HIT with the value, MISS, or FAILED. It is truthy on a hit, as a
``WriteResult`` is on a store.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["ReadOutcome", "ReadResult", "failed_read"]

T = TypeVar("T")


class ReadOutcome(enum.Enum):
    """What became of a read."""

    HIT = "hit"
    MISS = "miss"  # the backend answered: nothing is stored
    FAILED = "failed"  # the backend failed: nothing is known


@dataclass(frozen=True, slots=True)
class ReadResult(Generic[T]):
    """A read that says why it found nothing; ``value`` is set on a HIT only."""

    outcome: ReadOutcome
    value: T | None = None

    @classmethod
    def of(cls, value: T | None) -> ReadResult[T]:
        """HIT with ``value``, or MISS when it is None."""
        return cls(ReadOutcome.MISS if value is None else ReadOutcome.HIT, value)

    @property
    def failed(self) -> bool:
        """True when the backend failed (an outage, not a miss)."""
        return self.outcome is ReadOutcome.FAILED

    def __bool__(self) -> bool:
        return self.outcome is ReadOutcome.HIT


_FAILED: ReadResult[Any] = ReadResult(ReadOutcome.FAILED)


def failed_read() -> ReadResult[Any]:
    """The FAILED result: the fallback of a guarded read that returns a ``ReadResult``."""
    return _FAILED
