"""The failure policy: what each family of operations does when the backend fails.

This module is the one place that applies the table of ``shared/DESIGN.md``. Public
operations are decorated with ``@guarded(Family.X)``; a ``BackendError`` raised beneath them
is logged (rate-limited), counted, and turned into the family's fallback, or re-raised where
the table says the caller must know.
"""

from __future__ import annotations

import enum
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from jeex_cache.domain.entities import WriteOutcome, WriteResult
from jeex_cache.errors import BackendError

__all__ = ["FAILURE_POLICY", "Degradation", "Family", "FailureTracker", "guarded"]

logger = logging.getLogger("jeex_cache.resilience")


class Family(enum.Enum):
    """Operation families of the failure table."""

    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"
    CACHE_INVALIDATE = "cache_invalidate"
    RATE_LIMIT = "rate_limit"
    SESSION = "session"
    PROGRESS = "progress"
    TASK_ENQUEUE = "task_enqueue"
    TASK_CONTROL = "task_control"


@dataclass(frozen=True, slots=True)
class Degradation:
    """What a family returns when the backend fails; ``raises`` means the error propagates."""

    fallback: Callable[[], Any]
    raises: bool = False
    why: str = ""


def _raise() -> Any:  # pragma: no cover - never called: ``raises`` short-circuits
    raise AssertionError


FAILED_WRITE = WriteResult(WriteOutcome.FAILED, None)

# The failure table. Later capabilities add their rows here, and only here. An operation
# whose result is not of the row's type names its own neutral value (``fallback=``): an
# empty list for a listing read, ``FAILED_WRITE`` for a write that reports a WriteResult.
FAILURE_POLICY: dict[Family, Degradation] = {
    Family.CACHE_READ: Degradation(lambda: None, why="a miss: the caller has the database"),
    Family.CACHE_WRITE: Degradation(lambda: False, why="never break the request"),
    Family.CACHE_INVALIDATE: Degradation(lambda: 0, why="never break the request"),
    Family.SESSION: Degradation(lambda: None, why="deny: fail closed for security"),
    Family.PROGRESS: Degradation(lambda: None, why="never break the reported operation"),
    Family.TASK_ENQUEUE: Degradation(_raise, raises=True, why="a task is never lost silently"),
    Family.TASK_CONTROL: Degradation(_raise, raises=True, why="a task's state is never guessed"),
}


class FailureTracker:
    """Counts backend failures per operation and keeps the log readable during an outage.

    The first failure of an operation is logged at WARNING; further ones at most once per
    ``log_interval`` seconds, with the number suppressed in between.
    """

    def __init__(self, log_interval: float = 10.0) -> None:
        self.failures: Counter[str] = Counter()
        self.consecutive_failures = 0
        self.last_failure: str | None = None
        self._log_interval = log_interval
        self._last_logged: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    @property
    def degraded(self) -> bool:
        """True while the latest backend call failed (an outage, not a miss)."""
        return self.consecutive_failures > 0

    def succeeded(self) -> None:
        """Record that the backend answered."""
        self.consecutive_failures = 0

    def failed(self, operation: str, family: Family, exc: BackendError) -> None:
        """Record, count and (rate-limited) log one failure."""
        self.failures[operation] += 1
        self.consecutive_failures += 1
        self.last_failure = f"{operation}: {exc}"
        now = time.monotonic()
        last = self._last_logged.get(operation)
        if last is not None and now - last < self._log_interval:
            self._suppressed[operation] += 1
            return
        self._last_logged[operation] = now
        suppressed = self._suppressed.pop(operation, 0)
        logger.warning(
            "backend failure in %s (%s, %s): %s%s",
            operation,
            family.value,
            FAILURE_POLICY[family].why,
            exc,
            f" [{suppressed} more since last report]" if suppressed else "",
            extra={"operation": operation, "family": family.value, "suppressed": suppressed},
        )


class Guarded(Protocol):
    """Anything whose operations are guarded carries a ``FailureTracker`` (an attribute, not
    a property: it is read on every call)."""

    failure_tracker: FailureTracker


S = TypeVar("S", bound=Guarded)
P = ParamSpec("P")
R = TypeVar("R")


def guarded(
    family: Family, fallback: Callable[[], Any] | None = None
) -> Callable[
    [Callable[Concatenate[S, P], Awaitable[R]]], Callable[Concatenate[S, P], Awaitable[R]]
]:
    """Apply the failure policy of ``family`` to an async method.

    ``fallback`` replaces the row's value for an operation of another result type; it cannot
    turn a row that raises into one that degrades.
    """
    degradation = FAILURE_POLICY[family]
    if fallback is not None and degradation.raises:
        raise ValueError(f"{family.value} raises on backend failure; it has no fallback")
    neutral = degradation.fallback if fallback is None else fallback

    def decorate(
        method: Callable[Concatenate[S, P], Awaitable[R]],
    ) -> Callable[Concatenate[S, P], Awaitable[R]]:
        operation = method.__name__

        @functools.wraps(method)
        async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            tracker = self.failure_tracker
            try:
                result = await method(self, *args, **kwargs)
            except BackendError as exc:
                tracker.failed(operation, family, exc)
                if degradation.raises:
                    raise
                value: R = neutral()
                return value
            if tracker.consecutive_failures:
                tracker.succeeded()
            return result

        return run

    return decorate
