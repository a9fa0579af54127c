"""Wake-up tokens of one in-memory queue and its workers' waiters: how idle workers learn of
new tasks at once."""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Wake", "WakeWaiter"]


class Wake:
    """Each new task wakes one waiting worker, or leaves a token for the next one to wait.

    Tokens are capped (``MAX_TOKENS``); a claim that finds nothing due clears them, so a
    worker never wakes for work that was taken before it started waiting. This mirrors the
    Redis backend's wake-up list.
    """

    MAX_TOKENS = 64

    def __init__(self) -> None:
        self._tokens = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def notify(self) -> None:
        """A task arrived: wake the longest waiter, or keep a token."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._tokens = min(self._tokens + 1, self.MAX_TOKENS)

    def clear(self) -> None:
        """Forget the tokens: the queue was just found empty."""
        self._tokens = 0

    def take(self) -> bool:
        """Take a token if one is kept."""
        if self._tokens:
            self._tokens -= 1
            return True
        return False

    def register(self) -> asyncio.Future[None]:
        """A future that the next ``notify`` resolves (unless an older one is waiting)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def discard(self, waiter: asyncio.Future[None]) -> None:
        """Stop waiting with ``waiter``."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)


class WakeWaiter:
    """One worker's wait on a queue's ``Wake``, at most ``max_wait`` seconds at a time."""

    def __init__(self, wake: Wake, max_wait: float) -> None:
        self._wake = wake
        self._max_wait = max_wait
        self._interrupted = False
        self._current: asyncio.Future[None] | None = None

    async def wait(self, seconds: float) -> bool:
        if self._interrupted or self._wake.take():
            return True
        seconds = min(seconds, self._max_wait)
        if seconds <= 0:
            return False
        self._current = waiter = self._wake.register()
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError:
            return waiter.done() and not waiter.cancelled()
        finally:
            self._wake.discard(waiter)
            self._current = None
        return True

    async def interrupt(self) -> None:
        self._interrupted = True
        if self._current is not None and not self._current.done():
            self._current.set_result(None)

    async def close(self) -> None:
        return None
