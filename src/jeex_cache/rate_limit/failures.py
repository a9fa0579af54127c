"""The rate limit's row of the failure table: allow, and say why (fail open by default)."""

from __future__ import annotations

from typing import Any

from jeex_cache.core.errors import BackendError
from jeex_cache.core.resilience import Family
from jeex_cache.rate_limit.policy import RateLimitResult

__all__ = ["RATE_LIMIT"]


def _answer(owner: Any, exc: BackendError) -> RateLimitResult:
    # Fail open: allow, and say why. ``RATE_LIMIT_FAIL_CLOSED`` (read through the manager's
    # ``rate_limit_fail_closed``) turns it into a refusal.
    closed = bool(getattr(owner, "rate_limit_fail_closed", False))
    return RateLimitResult.unavailable(f"rate limiting unavailable: {exc}", allowed=not closed)


RATE_LIMIT = Family(
    "rate_limit",
    "allow, with error in the result (fail open; JEEX_RATE_LIMIT_FAIL_CLOSED refuses)",
    fallback=lambda: RateLimitResult.unavailable("rate limiting unavailable", allowed=True),
    answer=_answer,
)
