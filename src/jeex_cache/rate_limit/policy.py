"""Rate-limit policies (one or more windows checked together) and the result of a check."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jeex_cache.core.errors import InvalidInputError
from jeex_cache.rate_limit.keys import rate_limit_suffix
from jeex_cache.rate_limit.model import RateLimit, RateLimitConfig, RateLimitWindow

__all__ = [
    "MAX_LIMIT",
    "MAX_WINDOWS",
    "MAX_WINDOW_SECONDS",
    "RateLimitPolicy",
    "RateLimitResult",
    "RateLimitSubject",
]

MAX_WINDOWS = 8
MAX_LIMIT = 10_000_000  # admissions per window: a window's log holds at most this many
MAX_WINDOW_SECONDS = 366 * 86_400


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """Limits checked together: a request is admitted only if every window has room, and
    an admitted request counts in every window (a refused one in none).

    ``name`` keeps the policy's state apart from other policies on the same identifier and
    prefixes its windows' names (``api.minute``); ``RateLimitPolicy.per(minute=100, hour=1000)``.
    """

    limits: tuple[RateLimitConfig, ...]
    name: str | None = None
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """Each window's name, in key suffixes and HTTP headers: ``[<policy>.]<minute|hour|day|Ns>``."""
    arguments: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Limit and window length in milliseconds of each window, in order."""

    def __post_init__(self) -> None:
        limits = self.limits
        if not isinstance(limits, tuple) or not 1 <= len(limits) <= MAX_WINDOWS:
            raise InvalidInputError(f"a policy holds 1 to {MAX_WINDOWS} limits in a tuple")
        for config in limits:
            if not isinstance(config, RateLimitConfig):
                raise InvalidInputError(f"a policy holds RateLimitConfigs, got {config!r}")
            if config.limit > MAX_LIMIT or config.window_seconds > MAX_WINDOW_SECONDS:
                raise InvalidInputError(
                    f"a limit admits at most {MAX_LIMIT} requests in a window of at most "
                    f"{MAX_WINDOW_SECONDS} s, got {config!r}"
                )
        ordered = tuple(sorted(limits, key=lambda config: config.window_seconds))
        if len({config.window_seconds for config in ordered}) != len(ordered):
            raise InvalidInputError("the limits of one policy need distinct window lengths")
        object.__setattr__(self, "limits", ordered)
        names = tuple(rate_limit_suffix(c.window_seconds, self.name) for c in ordered)
        object.__setattr__(self, "names", names)
        arguments: list[int] = []
        for config in ordered:
            arguments += (config.limit, config.window_seconds * 1000)
        object.__setattr__(self, "arguments", tuple(arguments))

    @classmethod
    def of(cls, *limits: RateLimitConfig, name: str | None = None) -> RateLimitPolicy:
        """A policy of ``limits``: ``RateLimitPolicy.of(RateLimitConfig(100, 60))``."""
        return cls(tuple(limits), name)

    @classmethod
    def per(
        cls,
        *,
        minute: int | None = None,
        hour: int | None = None,
        day: int | None = None,
        name: str | None = None,
    ) -> RateLimitPolicy:
        """Requests per minute, hour and/or day: ``RateLimitPolicy.per(minute=100, day=10_000)``."""
        wanted = (
            (RateLimitWindow.MINUTE, minute),
            (RateLimitWindow.HOUR, hour),
            (RateLimitWindow.DAY, day),
        )
        limits = tuple(RateLimitConfig.per(w, n) for w, n in wanted if n is not None)
        return cls(limits, name)


@dataclass(frozen=True, slots=True)
class RateLimitSubject:
    """A validated, normalised limited identifier and its key prefix (without namespace)."""

    scope: str
    identifier: str
    prefix: str


_KEYS = ("allowed", "limit", "remaining", "reset_seconds", "retry_after")


class RateLimitResult(Mapping[str, Any]):
    """The answer to one check; attributes, or the spec's ``result["allowed"]`` form.

    ``limit`` and ``remaining`` are those of the window with the least room. ``retry_after``
    is 0 when allowed, else the seconds until the request would be admitted;
    ``reset_seconds`` is ``retry_after`` when refused, else the time until the tightest window
    frees quota. ``error`` is set only when the backend failed: the result is then the
    failure policy's (allowed unless ``RATE_LIMIT_FAIL_CLOSED``), and ``"error" in result``.
    """

    # Built on every check: it only keeps the script's reply, and reads it when asked.
    __slots__ = ("_error", "_policy", "_reply", "_subject")

    def __init__(
        self,
        policy: RateLimitPolicy | None,
        subject: RateLimitSubject | None,
        reply: Sequence[int],
        error: str | None = None,
    ) -> None:
        # ``reply``: admitted (1/0), retry ms, then per window: count, reset ms (the
        # repository's answer; see ``RateLimitRepository.hit``).
        self._policy = policy
        self._subject = subject
        self._reply = reply
        self._error = error

    @classmethod
    def unavailable(cls, error: str, *, allowed: bool, retry_after: float = 1.0) -> RateLimitResult:
        """The failure policy's answer while the backend is down (``error`` says why)."""
        retry_ms = 0 if allowed else round(retry_after * 1000)
        return cls(None, None, (1 if allowed else 0, retry_ms, 0, 0), error)

    @property
    def allowed(self) -> bool:
        """True when the request was admitted (and counted in every window)."""
        return self._reply[0] == 1

    @property
    def error(self) -> str | None:
        """Why the backend could not answer; None when it did."""
        return self._error

    @property
    def retry_after(self) -> float:
        """Seconds until the request would be admitted; 0 when it was."""
        return self._reply[1] / 1000

    @property
    def limit(self) -> int:
        """The limit of the tightest window (``requests_per_window + burst_allowed``)."""
        return self._tightest()[0]

    @property
    def remaining(self) -> int:
        """Requests the tightest window still admits now."""
        limit, count, _ = self._tightest()
        return limit - count if count < limit else 0

    @property
    def reset_seconds(self) -> float:
        """``retry_after`` when refused, else the time until the tightest window frees quota."""
        reply = self._reply
        return (self._tightest()[2] if reply[0] == 1 else reply[1]) / 1000

    def _tightest(self) -> tuple[int, int, int]:
        """Limit, count and reset (ms) of the window with the least room (ties: latest reset)."""
        reply, policy = self._reply, self._policy
        if policy is None:
            return 0, 0, 0
        arguments = policy.arguments
        limit, count, reset = arguments[0], reply[2], reply[3]
        for i in range(2, len(arguments), 2):
            other_limit, other_count, other_reset = arguments[i], reply[i + 2], reply[i + 3]
            room, other_room = limit - count, other_limit - other_count
            if other_room < room or (other_room == room and other_reset > reset):
                limit, count, reset = other_limit, other_count, other_reset
        return limit, count, reset

    @property
    def windows(self) -> tuple[RateLimit, ...]:
        """Every window's state (empty when the backend failed)."""
        policy, subject, reply = self._policy, self._subject, self._reply
        if policy is None or subject is None:
            return ()
        args = policy.arguments
        return tuple(
            RateLimit(
                scope=subject.scope,
                identifier=subject.identifier,
                name=name,
                window_seconds=args[2 * i + 1] // 1000,
                limit=args[2 * i],
                count=reply[2 * i + 2],
                reset_seconds=reply[2 * i + 3] / 1000,
            )
            for i, name in enumerate(policy.names)
        )

    @property
    def violated(self) -> tuple[str, ...]:
        """Names of the windows that refused the request (none when it was allowed)."""
        if self.allowed:
            return ()
        return tuple(window.name for window in self.windows if window.exceeded)

    # -- the spec's mapping form ---------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key in _KEYS:
            return getattr(self, key)
        if key == "error" and self._error is not None:
            return self._error
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in _KEYS or (key == "error" and self._error is not None)

    def __iter__(self) -> Iterator[str]:
        yield from _KEYS
        if self._error is not None:
            yield "error"

    def __len__(self) -> int:
        return len(_KEYS) + (self._error is not None)

    def __repr__(self) -> str:
        return f"RateLimitResult({dict(self)!r})"
