"""What a rate-limit backend does: ``RateLimitRepository``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from jeex_cache.rate_limit.policy import RateLimitPolicy

__all__ = ["RateLimitRepository"]


T = TypeVar("T")


class RateLimitRepository(Protocol):
    """Atomic sliding-window admission for one identifier over one or more windows."""

    def hit(
        self, prefix: str, policy: RateLimitPolicy, answer: Callable[[list[int]], T]
    ) -> Awaitable[T]:
        """Admit one request if every window of ``policy`` has room, in one atomic step.

        ``prefix`` is the identifier's key prefix (``rate_limit.keys.prefix``); window
        ``i``'s log lives under ``prefix + policy.names[i]``. The outcome, ``[admitted (1 or
        0), retry_after_ms, count_1, reset_ms_1, count_2, reset_ms_2, ...]`` (per window: the
        admissions now in it and the time until the oldest that matters leaves it; see
        ``domain/rate_limiting.py``), is handed to ``answer``, whose result is returned.
        """
        ...
