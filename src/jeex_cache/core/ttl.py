"""Time-to-live values (``TTL.hours(2)``) and what callers may pass for one."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Protocol

from jeex_cache.core.errors import InvalidTTLError

__all__ = ["TTL", "TTLLike", "Window"]


class Window(Protocol):
    """A time window of whole seconds (``RateLimitWindow`` is one)."""

    @property
    def seconds(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TTL:
    """A time-to-live, held in whole milliseconds; always positive.

    >>> TTL.hours(2).total_seconds
    7200.0
    """

    milliseconds: int

    MAX_MILLISECONDS: ClassVar[int] = 10 * 365 * 86_400_000  # ten years

    def __post_init__(self) -> None:
        ms = self.milliseconds
        if type(ms) is not int:
            raise InvalidTTLError(f"TTL milliseconds must be an int, got {type(ms).__name__}")
        if ms <= 0:
            raise InvalidTTLError(f"TTL must be positive, got {ms} ms")
        if ms > self.MAX_MILLISECONDS:
            raise InvalidTTLError(f"TTL must be at most ten years, got {ms} ms")

    @classmethod
    def seconds(cls, value: float) -> TTL:
        """A TTL of ``value`` seconds (fractions allowed, down to one millisecond)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidTTLError(f"TTL must be a number of seconds, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise InvalidTTLError(f"TTL must be a positive number of seconds, got {value!r}")
        ms = round(value * 1000)
        if ms <= 0:
            raise InvalidTTLError(f"TTL must be at least one millisecond, got {value!r} s")
        return cls(ms)

    @classmethod
    def minutes(cls, value: float) -> TTL:
        """A TTL of ``value`` minutes."""
        return cls.seconds(_number(value) * 60)

    @classmethod
    def hours(cls, value: float) -> TTL:
        """A TTL of ``value`` hours."""
        return cls.seconds(_number(value) * 3_600)

    @classmethod
    def days(cls, value: float) -> TTL:
        """A TTL of ``value`` days."""
        return cls.seconds(_number(value) * 86_400)

    # The spec's presets. Settings may override them (CACHE_*_TTL); these are the defaults.
    @classmethod
    def project_data(cls) -> TTL:
        """Project data: 1 hour."""
        return cls(3_600_000)

    @classmethod
    def user_session(cls) -> TTL:
        """User session idle timeout: 2 hours."""
        return cls(7_200_000)

    @classmethod
    def rate_limit(cls, window: Window) -> TTL:
        """Rate-limit state lives as long as its window (60 s, 1 h, 1 day)."""
        return cls(window.seconds * 1000)

    @classmethod
    def progress(cls) -> TTL:
        """Progress records: 30 minutes."""
        return cls(1_800_000)

    @classmethod
    def task_status(cls) -> TTL:
        """Task status: 24 hours."""
        return cls(86_400_000)

    @property
    def total_seconds(self) -> float:
        """The TTL in seconds."""
        return self.milliseconds / 1000


def _number(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTTLError(f"TTL must be a number, got {value!r}")
    return value


TTLLike = TTL | int | float | timedelta


def as_ttl(ttl: TTLLike) -> TTL:
    """Accept a ``TTL``, a number of seconds or a ``timedelta``."""
    if isinstance(ttl, TTL):
        return ttl
    if isinstance(ttl, timedelta):
        return TTL.seconds(ttl.total_seconds())
    if isinstance(ttl, int | float) and not isinstance(ttl, bool):
        return TTL.seconds(ttl)
    raise InvalidTTLError(f"ttl must be a TTL, seconds or a timedelta, got {ttl!r}")
