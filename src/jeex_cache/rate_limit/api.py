"""The rate-limiting part of ``CacheManager``."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.rate_limit.failures import RATE_LIMIT
from jeex_cache.rate_limit.keys import Identifier
from jeex_cache.rate_limit.policy import RateLimitPolicy, RateLimitResult
from jeex_cache.rate_limit.service import LimitsLike, RateLimitingService

if TYPE_CHECKING:
    from jeex_cache.config import Settings

__all__ = ["RateLimitAPI"]

# The span names the scope only: an identifier may be an address, a user or an API key.
_SCOPE = {"scope": "scope"}


class RateLimitAPI:
    """Exact sliding-window rate limits: ``check_rate_limit`` and its policies."""

    runtime: OperationRuntime
    _rate_limits: RateLimitingService  # set by ``CacheManager.initialize()``

    if TYPE_CHECKING:

        @property
        def settings(self) -> Settings: ...  # the manager's

    @guarded(RATE_LIMIT, attributes=_SCOPE)
    def check_rate_limit(
        self, identifier: Identifier, scope: str, config: LimitsLike | None = None
    ) -> Awaitable[RateLimitResult]:
        """Admit one request of ``identifier`` in ``scope`` if ``config`` allows it.

        ``scope`` is ``ip`` (an IP address: normalised, IPv6 grouped by
        ``RATE_LIMIT_IPV6_PREFIX`` bits), ``project`` (a project ID: a UUID, a string or an
        int), ``user`` (a user ID, or any opaque token) or any name of yours (a token).
        ``config`` is a ``RateLimitConfig`` or a multi-window ``RateLimitPolicy``; by default
        ``RATE_LIMIT_DEFAULT_REQUESTS`` per ``RATE_LIMIT_DEFAULT_WINDOW`` seconds. One round
        trip. While the backend is down the request is allowed with ``"error" in result``
        (refused if ``RATE_LIMIT_FAIL_CLOSED``).
        """
        # Returns the repository's awaitable for the guard to await: between the guard and
        # the executor, a check's await chain holds no frame of ours.
        return self._rate_limits.check(identifier, scope, config)

    def rate_limit_policy(self, config: LimitsLike | None = None) -> RateLimitPolicy:
        """The policy a check with ``config`` applies (validated; the default for None)."""
        return self._rate_limits.policy_of(config)

    @property
    def rate_limit_fail_closed(self) -> bool:
        """Whether checks refuse while the backend is down (``RATE_LIMIT_FAIL_CLOSED``)."""
        return self.settings.rate_limit_fail_closed  # known before initialize() too
