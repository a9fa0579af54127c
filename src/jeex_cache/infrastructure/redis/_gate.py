"""A first-come, first-served limit on calls in flight, with a bounded wait."""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["FairGate"]


class FairGate:
    """At most ``size`` holders; later callers queue in arrival order.

    ``try_enter`` is the synchronous fast path (no await when a place is free and nobody
    queues); ``wait`` queues for at most ``max_wait`` seconds and returns False on time-out.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Places free right now."""
        return self._free

    def try_enter(self) -> bool:
        """Take a place if one is free and nobody is queued before us."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def wait(self, max_wait: float) -> bool:
        """Queue for a place; False if none was handed over within ``max_wait`` seconds."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(max_wait):
                await waiter
        except TimeoutError:
            return self._abandon(waiter)
        except BaseException:
            self._abandon(waiter)
            raise
        return True

    def _abandon(self, waiter: asyncio.Future[None]) -> bool:
        if waiter.done() and not waiter.cancelled():
            self.leave()  # the place was handed over as we gave up: pass it on
        elif waiter in self._waiters:
            self._waiters.remove(waiter)
        return False

    def leave(self) -> None:
        """Give the place back, straight to the longest waiter if there is one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
