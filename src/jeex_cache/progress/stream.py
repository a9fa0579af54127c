"""``Subscription``: the live events of one operation for one listener, in a bounded buffer.

A backend pushes every event appended while the subscription is open (the memory backend
directly, Redis through its one subscriber connection). The buffer never blocks the writer:
when it is full, or when the feed was interrupted, the listener is told to read the event log
again (``Signal.GAP`` / ``Signal.LOST``) instead of being fed an incomplete sequence.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque

from jeex_cache.progress.model import ProgressEvent

__all__ = ["Signal", "Subscription"]


class Signal(enum.Enum):
    """What ``Subscription.next`` returns instead of an event."""

    IDLE = "idle"  # nothing arrived within the timeout
    GAP = "gap"  # events were dropped (buffer full): read the log again
    LOST = "lost"  # the feed ended (connection lost): subscribe again


class Subscription:
    """Events pushed by a backend, taken one at a time by one listener."""

    def __init__(self, limit: int = 256) -> None:
        self._events: deque[ProgressEvent] = deque()
        self._limit = limit
        self._gap = False
        self._lost = False
        self._ready = asyncio.Event()

    def push(self, event: ProgressEvent) -> None:
        """Add a live event (from the writer's side; never blocks)."""
        if self._lost:
            return
        if len(self._events) >= self._limit:
            self._events.clear()
            self._gap = True
        else:
            self._events.append(event)
        self._ready.set()

    def lose(self) -> None:
        """End the feed: the listener will be told to subscribe again."""
        self._lost = True
        self._ready.set()

    @property
    def lost(self) -> bool:
        """True once the feed has ended."""
        return self._lost

    async def next(self, idle: float) -> ProgressEvent | Signal:
        """The next live event, or a ``Signal`` (IDLE after ``idle`` seconds of silence)."""
        if not (self._events or self._gap or self._lost):
            self._ready.clear()
            try:
                async with asyncio.timeout(idle):
                    await self._ready.wait()
            except TimeoutError:
                return Signal.IDLE
        if self._lost:
            return Signal.LOST
        if self._gap:
            self._gap = False
            self._events.clear()
            return Signal.GAP
        return self._events.popleft()
