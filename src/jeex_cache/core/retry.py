"""The one retry policy: exponential backoff, for a guarded call, a task and a worker's loops.

A guarded call retries a connection-level failure of an idempotent operation with jitter and
within a deadline; a task waits ``seconds_after(attempt)`` before its next delivery; a worker
backs off from a failing backend with ``ceiling``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from jeex_cache.core.errors import InvalidInputError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``delay * multiplier**n`` seconds, at most ``maximum``.

    ``jitter`` draws a random wait up to that (full jitter). ``retries`` and ``deadline``
    (seconds since the call began) bound a call's retries; None: unbounded. ``at_once``: the
    first retry does not wait (the transport replaced the broken connection), the later ones
    back off from ``delay``.
    """

    delay: float = 1.0
    multiplier: float = 2.0
    maximum: float = 300.0
    jitter: bool = False
    retries: int | None = None
    deadline: float | None = None
    at_once: bool = False

    def __post_init__(self) -> None:
        for name in ("delay", "multiplier", "maximum"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"retry {name} must be a number >= 0, got {value!r}")
        if self.multiplier < 1:
            raise InvalidInputError(f"retry multiplier must be >= 1, got {self.multiplier!r}")
        if self.retries is not None and (type(self.retries) is not int or self.retries < 0):
            raise InvalidInputError(f"retries must be an integer >= 0, got {self.retries!r}")
        if self.deadline is not None and not self.deadline > 0:
            raise InvalidInputError(f"a retry deadline must be > 0 s, got {self.deadline!r}")

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (0-based), without ``at_once``."""
        return min(self.maximum, self.delay * self.multiplier ** min(retry, 64))

    def wait(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0-based): 0 for an ``at_once`` first."""
        if self.at_once:
            if retry == 0:
                return 0.0
            retry -= 1
        ceiling = self.ceiling(retry)
        return random.uniform(0, ceiling) if self.jitter else ceiling

    def seconds_after(self, attempt: int) -> float:
        """A task's wait before the retry that follows failed attempt ``attempt`` (1-based)."""
        return self.ceiling(max(attempt - 1, 0))

    def allows(self, retry: int, elapsed_after_wait: float) -> bool:
        """Whether retry number ``retry`` may happen, ending its wait ``elapsed_after_wait``
        seconds after the call began."""
        return (self.retries is None or retry < self.retries) and (
            self.deadline is None or elapsed_after_wait < self.deadline
        )
