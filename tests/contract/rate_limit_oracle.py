"""A plain sliding log: the exact rate-limit rule, written as simply as it can be.

It keeps every admission time and answers from first principles, with no trimming, no
indexes and no shortcut, so that the backends can be compared with it step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jeex_cache.rate_limit.policy import RateLimitPolicy

__all__ = ["Decision", "SlidingLog", "max_in_any_window"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the oracle decided, and what it sees in each window afterwards."""

    allowed: bool
    retry_ms: int
    counts: tuple[int, ...]
    resets_ms: tuple[int, ...]


@dataclass(slots=True)
class SlidingLog:
    """Admit at ``now`` iff, for every window, fewer than ``limit`` admissions lie in
    ``(now - length, now]``; remember every admission."""

    policy: RateLimitPolicy
    admitted: list[int] = field(default_factory=list)

    def windows(self) -> list[tuple[int, int]]:
        args = self.policy.arguments
        return [(args[i], args[i + 1]) for i in range(0, len(args), 2)]

    def in_window(self, now: int, length: int) -> list[int]:
        return [t for t in self.admitted if now - length < t <= now]

    def admits(self, now: int) -> bool:
        return all(len(self.in_window(now, length)) < limit for limit, length in self.windows())

    def check(self, now: int) -> Decision:
        allowed = self.admits(now)
        if allowed:
            self.admitted.append(now)
        counts, resets = [], []
        for limit, length in self.windows():
            inside = sorted(self.in_window(now, length))
            counts.append(len(inside))
            resets.append(self._reset(now, inside, limit, length))
        retry = 0 if allowed else self._retry(now)
        return Decision(allowed, retry, tuple(counts), tuple(resets))

    def _retry(self, now: int) -> int:
        """The least wait after which a request would be admitted (nothing else arriving):
        admissions only change when one leaves a window, so try those moments in order."""
        moments = sorted({t + length - now for t in self.admitted for _, length in self.windows()})
        return next(d for d in moments if d >= 0 and self.admits(now + d))

    @staticmethod
    def _reset(now: int, inside: list[int], limit: int, length: int) -> int:
        """Until this window's remaining quota grows: the first departure after which fewer
        than ``min(count, limit)`` admissions are left in it (0 when it holds none)."""
        wanted = min(limit, len(inside))
        for t in inside:  # oldest first; at t + length every admission at t has left
            if len([u for u in inside if u > t]) < wanted:
                return t + length - now
        return 0


def max_in_any_window(times: list[int], length: int) -> int:
    """The most admissions in any interval ``(t - length, t]``: the bound of guarantee 1."""
    ordered = sorted(times)
    return max((len([u for u in ordered if t - length < u <= t]) for t in ordered), default=0)
