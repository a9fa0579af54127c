"""Rate-limit windows, limits and the state of one window."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from jeex_cache.core.errors import InvalidInputError

__all__ = ["RateLimit", "RateLimitConfig", "RateLimitWindow"]


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


class RateLimitWindow(Enum):
    """The fixed windows the spec names; the value is the window's label in keys."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def seconds(self) -> int:
        """Length of the window in seconds (60, 3600, 86400)."""
        return _WINDOW_SECONDS[self]


_WINDOW_SECONDS = {
    RateLimitWindow.MINUTE: 60,
    RateLimitWindow.HOUR: 3_600,
    RateLimitWindow.DAY: 86_400,
}


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """How many requests a window admits: ``requests_per_window`` plus ``burst_allowed``."""

    requests_per_window: int
    window_seconds: int
    burst_allowed: int = 0

    def __post_init__(self) -> None:
        for name, minimum in (("requests_per_window", 1), ("window_seconds", 1)):
            _require_int(getattr(self, name), name, minimum)
        _require_int(self.burst_allowed, "burst_allowed", 0)

    @classmethod
    def per(cls, window: RateLimitWindow, requests: int, burst: int = 0) -> RateLimitConfig:
        """``requests`` per ``window`` (plus ``burst``)."""
        return cls(requests, window.seconds, burst)

    @property
    def limit(self) -> int:
        """The most requests admitted in any interval of ``window_seconds``."""
        return self.requests_per_window + self.burst_allowed


def _require_int(value: object, name: str, minimum: int) -> None:
    if type(value) is not int or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
