"""Value objects: small, frozen, validated once at construction, carrying their behaviour.

Every storage key is built here (``CacheKey``), so there is exactly one place that decides
what a key looks like and which Redis Cluster hash tag it carries.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar
from uuid import UUID

from jeex_cache.core.errors import InvalidIdentifierError, InvalidInputError, InvalidTTLError
from jeex_cache.core.identifiers import (
    is_session_digest,
    parse_uuid,
    validate_name,
    validate_token,
)
from jeex_cache.core.ip_address import DEFAULT_IPV6_PREFIX
from jeex_cache.rate_limit.keys import rate_limit_identifier, rate_limit_suffix

__all__ = [
    "TTL",
    "CacheKey",
    "CacheTag",
    "RateLimitConfig",
    "RateLimitWindow",
    "MAX_REASON_LENGTH",
    "session_digest",
    "validate_reason",
]


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
    def rate_limit(cls, window: RateLimitWindow) -> TTL:
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


@dataclass(frozen=True, slots=True)
class CacheTag:
    """A name that groups cache entries for invalidation, e.g. ``CacheTag("pricing")``."""

    name: str

    def __post_init__(self) -> None:
        validate_name(self.name, "tag")

    @classmethod
    def project(cls, project_id: UUID | str) -> CacheTag:
        """The tag of everything derived from one project, in that project or any other."""
        return cls(f"project.{parse_uuid(project_id)}")

    def __str__(self) -> str:
        return self.name


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


@dataclass(frozen=True, slots=True)
class CacheKey:
    """A storage key relative to the configured namespace, e.g. ``proj:{<uuid>}:data``.

    Backends prepend ``<namespace>:``. Keys of one project share the hash tag ``{<uuid>}``,
    so a Lua script over a project's keys stays in one Redis Cluster slot.
    """

    value: str

    MAX_LENGTH: ClassVar[int] = 216  # 250 minus the longest namespace (32) and its colon

    def __post_init__(self) -> None:
        if len(self.value) > self.MAX_LENGTH:
            raise InvalidInputError(f"key is longer than {self.MAX_LENGTH} characters")

    def __str__(self) -> str:
        return self.value

    # -- project cache -------------------------------------------------------------------
    @classmethod
    def project_prefix(cls, project_id: UUID | str) -> str:
        """The prefix every key of one project starts with: ``proj:{<uuid>}:``."""
        return f"proj:{{{parse_uuid(project_id)}}}:"

    @classmethod
    def project_data(cls, project_id: UUID | str) -> CacheKey:
        """The project's main cached document."""
        return cls(f"proj:{{{parse_uuid(project_id)}}}:data")

    @classmethod
    def project_entry(cls, project_id: UUID | str, name: str) -> CacheKey:
        """A named entry of the project-scoped key/value view."""
        return cls(f"{cls.project_prefix(project_id)}kv:{validate_name(name, 'entry name')}")

    @classmethod
    def project_index(cls, project_id: UUID | str) -> CacheKey:
        """Sorted set of the project's entry keys, scored by expiry time (ms)."""
        return cls(f"{cls.project_prefix(project_id)}index")

    @classmethod
    def project_tags(cls, project_id: UUID | str) -> CacheKey:
        """Sorted set of the tags used in the project, scored by their latest expiry."""
        return cls(f"{cls.project_prefix(project_id)}tags")

    @classmethod
    def project_tag_index(cls, project_id: UUID | str, tag: CacheTag) -> CacheKey:
        """Sorted set of the project's entries carrying ``tag``, scored by expiry."""
        return cls(f"{cls.project_prefix(project_id)}tag:{tag.name}")

    @classmethod
    def tag_projects(cls, tag: CacheTag) -> CacheKey:
        """Sorted set of the projects holding entries tagged ``tag``, scored by expiry."""
        return cls(f"tag:{{{tag.name}}}:projects")

    # -- the other capabilities ------------------------------------------------------------
    @classmethod
    def user_session(cls, session_id: str) -> CacheKey:
        """A session record, keyed by a SHA-256 of the session ID (never the raw ID)."""
        return cls.session_record(session_digest(session_id))

    @classmethod
    def session_record(cls, digest: str) -> CacheKey:
        """The session record named by ``digest`` (``session_digest`` of its ID); its own slot."""
        if not is_session_digest(digest):
            raise InvalidIdentifierError("a session digest is 64 lowercase hex characters")
        return cls(f"sess:{{{digest}}}")

    @classmethod
    def user_sessions(cls, user_id: UUID | str) -> CacheKey:
        """Index of one user's sessions."""
        return cls(f"user:{{{parse_uuid(user_id, 'user ID')}}}:sessions")

    @classmethod
    def rate_limit(
        cls,
        scope: str,
        identifier: str | UUID,
        window: RateLimitWindow | int,
        policy: str | None = None,
        *,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
    ) -> CacheKey:
        """Rate-limit log of ``identifier`` in ``scope`` (user, project, ip) for ``window``
        (a ``RateLimitWindow`` or seconds), optionally of a named ``policy``."""
        prefix = cls.rate_limit_prefix(scope, identifier, ipv6_prefix=ipv6_prefix)
        seconds = window.seconds if isinstance(window, RateLimitWindow) else window
        return cls(prefix + rate_limit_suffix(seconds, policy))

    @classmethod
    def rate_limit_prefix(
        cls, scope: str, identifier: str | UUID, *, ipv6_prefix: int = DEFAULT_IPV6_PREFIX
    ) -> str:
        """Prefix shared by all windows of one limited identifier (one hash tag); see
        ``rate_limit_identifier`` for what each scope accepts."""
        return f"rl:{{{scope}.{rate_limit_identifier(scope, identifier, ipv6_prefix)}}}:"

    @classmethod
    def progress(cls, correlation_id: UUID | str) -> CacheKey:
        """A progress record."""
        return cls(f"progress:{{{_correlation(correlation_id)}}}")

    @classmethod
    def progress_events(cls, correlation_id: UUID | str) -> CacheKey:
        """The capped event log of one progress record (same hash tag as the record)."""
        return cls(f"progress:{{{_correlation(correlation_id)}}}:events")

    @classmethod
    def task(cls, task_id: str) -> CacheKey:
        """A background task's status record."""
        return cls(f"task:{{{validate_token(task_id, 'task ID')}}}")

    @classmethod
    def task_queue(cls, queue: str) -> CacheKey:
        """A background task queue."""
        return cls(f"queue:{{{validate_name(queue, 'queue name', max_length=64)}}}")

    @classmethod
    def task_queue_part(cls, queue: str, part: str) -> CacheKey:
        """A queue's other structures (``running``, ``dead``, ``wake``), in its hash tag."""
        return cls(f"{cls.task_queue(queue).value}:{validate_name(part, 'queue part')}")


def session_digest(session_id: str) -> str:
    """The SHA-256 hex digest of a session ID: all that storage and logs ever hold of it."""
    token = validate_token(session_id, "session ID")
    return hashlib.sha256(token.encode()).hexdigest()


MAX_REASON_LENGTH = 200
# Control (Cc), format (Cf: bidi overrides, zero-width), line and paragraph separators (Zl,
# Zp) and lone surrogates (Cs): each could break or forge a log line.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def validate_reason(reason: str) -> str:
    """A ``reason`` for the audit log (revocation, invalidation): one line of printable text,
    at most ``MAX_REASON_LENGTH`` characters. No control character, line or paragraph
    separator (NEL U+0085, U+2028, U+2029 included) passes: a reason cannot forge a log line.
    """
    if not isinstance(reason, str):
        raise InvalidInputError(f"reason must be a string, got {type(reason).__name__}")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError(f"reason must be at most {MAX_REASON_LENGTH} characters")
    for char in reason:
        if unicodedata.category(char) in _UNPRINTABLE:
            raise InvalidInputError(
                f"reason must be one line of printable text; it holds U+{ord(char):04X}"
            )
    return reason


def _correlation(correlation_id: UUID | str) -> str:
    if isinstance(correlation_id, UUID):
        return str(correlation_id)
    return validate_token(correlation_id, "correlation ID")
