"""``RateLimitingService``: exact sliding-window admission of one request, in one step.

The rule, on every backend: a request is admitted iff, in each window of its policy, fewer
than ``limit`` (``requests_per_window + burst_allowed``) requests were admitted in the last
``window_seconds``; an admitted request is recorded in every window, a refused one nowhere.
The backends keep, per identifier and window, the log of admission times (at most ``limit``
of them) and read time from one clock: the Redis server's, or the process's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from uuid import UUID

from jeex_cache.core.errors import InvalidIdentifierError, InvalidInputError
from jeex_cache.core.ip_address import DEFAULT_IPV6_PREFIX
from jeex_cache.rate_limit import keys as rate_limit_keys
from jeex_cache.rate_limit.keys import Identifier, rate_limit_identifier
from jeex_cache.rate_limit.model import RateLimitConfig
from jeex_cache.rate_limit.policy import RateLimitPolicy, RateLimitResult, RateLimitSubject
from jeex_cache.rate_limit.repository import RateLimitRepository

__all__ = ["LimitsLike", "RateLimitingService"]

LimitsLike = RateLimitConfig | RateLimitPolicy

_CACHE_SIZE = 10_000


class RateLimitingService:
    """Checks requests against policies; validated identifiers and policies are cached."""

    def __init__(
        self,
        repository: RateLimitRepository,
        default: LimitsLike,
        *,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
        fail_closed: bool = False,
    ) -> None:
        self.fail_closed = fail_closed
        """Whether a check refuses while the backend is down (``RATE_LIMIT_FAIL_CLOSED``)."""
        self.repository = repository
        """Where the counters live (the backend's rate-limit repository)."""
        self._hit = repository.hit
        self._ipv6_prefix = ipv6_prefix
        self.default = self.policy_of(default)
        """The policy of a check that names none (``RATE_LIMIT_DEFAULT_*``)."""
        # What a check needs, by (scope, identifier, its type, id(limits)) (the type: True
        # equals 1 but is refused): the limits object itself
        # (an id is only meaningful while it lives, so the entry holds it and is checked
        # against it), the subject's key prefix, the policy and the result's constructor.
        # Limits are usually module constants, and an int hashes without calling Python.
        self._checks: dict[tuple[str, object, type, int], _Check] = {}

    def check(
        self, identifier: Identifier, scope: str, limits: LimitsLike | None = None
    ) -> Awaitable[RateLimitResult]:
        """Admit one request of ``identifier`` in ``scope`` if ``limits`` allow it.

        Bad input raises here, at once; the returned awaitable is the repository's, which
        builds the result itself (a check's await chain holds no frame of this service).
        """
        try:
            known = self._checks[scope, identifier, type(identifier), id(limits)]
        except (KeyError, TypeError):  # TypeError: an unhashable identifier
            known = self._prepare(scope, identifier, limits)
        else:
            if known[0] is not limits:
                known = self._prepare(scope, identifier, limits)
        return self._hit(known[1], known[2], known[3])

    def subject(self, scope: str, identifier: Identifier) -> RateLimitSubject:
        """Validate and normalise ``identifier`` in ``scope``."""
        if not isinstance(identifier, str | UUID | int) or isinstance(identifier, bool):
            raise InvalidIdentifierError(
                f"an identifier is a string, a UUID or an int, got {type(identifier).__name__}"
            )
        prefix = rate_limit_keys.prefix(scope, identifier, ipv6_prefix=self._ipv6_prefix)
        normalised = rate_limit_identifier(scope, identifier, self._ipv6_prefix)
        return RateLimitSubject(scope, normalised, prefix)

    def policy_of(self, limits: LimitsLike | None) -> RateLimitPolicy:
        """The policy ``limits`` stands for: itself, a one-window policy, or the default."""
        if limits is None:
            return self.default
        if isinstance(limits, RateLimitPolicy):
            return limits
        if isinstance(limits, RateLimitConfig):
            return RateLimitPolicy((limits,))
        raise InvalidInputError(
            f"limits must be a RateLimitConfig or a RateLimitPolicy, got {limits!r:.60}"
        )

    def _prepare(self, scope: str, identifier: Identifier, limits: LimitsLike | None) -> _Check:
        subject, policy = self.subject(scope, identifier), self.policy_of(limits)
        known = (limits, subject.prefix, policy, partial(RateLimitResult, policy, subject))
        if len(self._checks) >= _CACHE_SIZE:
            self._checks.clear()
        self._checks[scope, identifier, type(identifier), id(limits)] = known
        return known


_Check = tuple[
    LimitsLike | None,
    str,
    RateLimitPolicy,
    Callable[[list[int]], RateLimitResult],
]
