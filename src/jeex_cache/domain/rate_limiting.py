"""``RateLimitingService``: exact sliding-window admission of one request, in one step.

The rule, on every backend: a request is admitted iff, in each window of its policy, fewer
than ``limit`` (``requests_per_window + burst_allowed``) requests were admitted in the last
``window_seconds``; an admitted request is recorded in every window, a refused one nowhere.
The backends keep, per identifier and window, the log of admission times (at most ``limit``
of them) and read time from one clock: the Redis server's, or the process's.
"""

from __future__ import annotations

from uuid import UUID

from jeex_cache.domain.ip_address import DEFAULT_IPV6_PREFIX
from jeex_cache.domain.rate_limit_policy import RateLimitPolicy, RateLimitResult, RateLimitSubject
from jeex_cache.domain.repository_interfaces import RateLimitRepository
from jeex_cache.domain.value_objects import CacheKey, RateLimitConfig, rate_limit_identifier
from jeex_cache.errors import InvalidIdentifierError, InvalidInputError

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
    ) -> None:
        self._repository = repository
        self._ipv6_prefix = ipv6_prefix
        self.default = self.policy_of(default)
        """The policy of a check that names none (``RATE_LIMIT_DEFAULT_*``)."""
        self._subjects: dict[tuple[str, str | UUID], RateLimitSubject] = {}
        # Policies by the identity of the config they were made from: configs are usually
        # module constants, and an int key hashes without calling Python code.
        self._policies: dict[int, tuple[RateLimitConfig, RateLimitPolicy]] = {}

    async def check(
        self, identifier: str | UUID, scope: str, limits: LimitsLike | None = None
    ) -> RateLimitResult:
        """Admit one request of ``identifier`` in ``scope`` if ``limits`` allow it."""
        try:
            subject = self._subjects.get((scope, identifier))
        except TypeError:  # unhashable
            raise InvalidIdentifierError(f"not an identifier: {identifier!r:.60}") from None
        if subject is None:
            subject = self.subject(scope, identifier)
        if type(limits) is RateLimitPolicy:
            policy = limits
        else:
            cached = self._policies.get(id(limits))
            policy = cached[1] if cached is not None and cached[0] is limits else self._new(limits)
        reply = await self._repository.hit(subject.prefix, policy)
        return RateLimitResult(reply, policy, subject)

    def subject(self, scope: str, identifier: str | UUID) -> RateLimitSubject:
        """Validate and normalise ``identifier`` in ``scope`` (kept for the next check)."""
        prefix = CacheKey.rate_limit_prefix(scope, identifier, ipv6_prefix=self._ipv6_prefix)
        normalised = rate_limit_identifier(scope, identifier, self._ipv6_prefix)
        subject = RateLimitSubject(scope, normalised, prefix)
        if len(self._subjects) >= _CACHE_SIZE:
            self._subjects.clear()
        self._subjects[scope, identifier] = subject
        return subject

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

    def _new(self, limits: LimitsLike | None) -> RateLimitPolicy:
        policy = self.policy_of(limits)
        if isinstance(limits, RateLimitConfig):
            if len(self._policies) >= _CACHE_SIZE:
                self._policies.clear()
            self._policies[id(limits)] = (limits, policy)
        return policy
