"""``RateLimitRepository`` in process memory: the same sliding logs as on Redis.

Each window of a limited identifier is a deque of admission times (ms, oldest first), at most
the window's limit long. A log whose newest admission has left its window is dropped: logs
are kept in one insertion-ordered dict per window length, moved to the end on every
admission, so the stale ones are always at the front and each check drops them in O(1)
amortised. Operations are synchronous code inside a coroutine, hence atomic on the loop.

Logs are charged to the backend's ``MemoryBudget`` (see the constants, measured with
tracemalloc) and never evicted: forgetting a log would hand its identifier a fresh quota. A
refused request needs no memory, so limits hold at the bound; an admission that does not fit
raises ``MemoryLimitError``, which the failure table answers as any backend failure (allowed
with ``error``, refused under ``RATE_LIMIT_FAIL_CLOSED``).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TypeVar

from jeex_cache.core.clock import Clock
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.rate_limit.keys import window_keys
from jeex_cache.rate_limit.policy import RateLimitPolicy

__all__ = ["MemoryRateLimitRepository"]

T = TypeVar("T")

# What a log costs (tracemalloc, CPython 3.11, rounded up) beside its key's length: the
# deque, its slots in the tables and its deadline; and each admission time it holds.
LOG_BYTES = 860
ADMISSION_BYTES = 56


class MemoryRateLimitRepository:
    """Sliding logs in dictionaries, on the backend's one clock."""

    def __init__(self, clock: Clock, budget: MemoryBudget | None = None) -> None:
        self._clock = clock
        self._budget = budget = MemoryBudget() if budget is None else budget
        budget.on_reclaim("rate_limit", lambda: self._drop_stale(round(clock.time() * 1000)))
        self._logs: dict[str, deque[int]] = {}
        # Per window length: log key -> time its newest admission leaves the window.
        self._deadlines: dict[int, OrderedDict[str, int]] = {}

    @property
    def key_count(self) -> int:
        """Logs held (what bounded memory means here: idle identifiers cost nothing)."""
        return len(self._logs)

    @property
    def entry_count(self) -> int:
        """Admission times held, over every log."""
        return sum(len(log) for log in self._logs.values())

    async def hit(
        self, prefix: str, policy: RateLimitPolicy, answer: Callable[[list[int]], T]
    ) -> T:
        now = round(self._clock.time() * 1000)
        self._drop_stale(now)
        arguments = policy.arguments
        keys = window_keys(prefix, policy.names)
        logs: list[deque[int]] = []
        admitted, left = 1, 0
        for i, key in enumerate(keys):
            log = self._logs.get(key)
            if log is None:
                log = deque()
            horizon = now - arguments[2 * i + 1]
            while log and log[0] <= horizon:
                log.popleft()
                left += 1
            logs.append(log)
            if len(log) >= arguments[2 * i]:
                admitted = 0
        self._budget.release("rate_limit", left * ADMISSION_BYTES)
        if admitted:  # a refusal needs no memory: only an admission may hit the bound
            new = [key for key in keys if key not in self._logs]
            self._budget.charge(
                "rate_limit",
                len(keys) * ADMISSION_BYTES + sum(LOG_BYTES + 49 + len(key) for key in new),
            )
            for i, (key, log) in enumerate(zip(keys, logs, strict=True)):
                log.append(now)
                self._logs[key] = log
                length = arguments[2 * i + 1]
                deadlines = self._deadlines.setdefault(length, OrderedDict())
                deadlines[key] = now + length
                deadlines.move_to_end(key)
        reply, retry = [admitted, 0], 0
        for i, log in enumerate(logs):
            count, limit = len(log), arguments[2 * i]
            reset = 0
            if count:
                # Quota comes back when the (count - limit + 1)-th oldest admission leaves.
                first = log[count - limit] if count > limit else log[0]
                reset = first + arguments[2 * i + 1] - now
            if not admitted and count >= limit and reset > retry:
                retry = reset
            reply += (count, reset)
        reply[1] = retry
        return answer(reply)

    def _drop_stale(self, now: int) -> None:
        for deadlines in self._deadlines.values():
            while deadlines:
                key, deadline = next(iter(deadlines.items()))
                if deadline > now:
                    break
                del deadlines[key]
                log = self._logs.pop(key, None)
                if log is not None:
                    size = LOG_BYTES + 49 + len(key) + len(log) * ADMISSION_BYTES
                    self._budget.release("rate_limit", size)
