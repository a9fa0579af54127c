"""Concurrent calls with one key share the first one's outcome (in one process).

The first caller runs the call itself, inline (no task); each of the others awaits a future
of its own, which the first resolves (so a cancelled follower cancels only itself). If the
first caller is cancelled, the others run the call again, one of them for the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

_MAX_JOINED = 10_000


class _RetryError(Exception):
    """The first caller was cancelled: run the call again."""


class Coalescer(Generic[K, T]):
    """Shares one running call's result among the callers of one key; counts who joined."""

    def __init__(self) -> None:
        self._running: dict[K, list[asyncio.Future[T]]] = {}
        self._joined: dict[K, int] = {}

    async def run(self, key: K, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``, or the outcome of the one already running under ``key``."""
        while (followers := self._running.get(key)) is not None:
            mine: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            followers.append(mine)
            try:
                result = await mine
            except _RetryError:
                continue  # the first of us to get here runs it; the rest join that one
            self._joined[key] = self._joined.get(key, 0) + 1
            return result
        followers = self._running[key] = []
        try:
            result = await call()
        except BaseException as exc:
            error = exc if isinstance(exc, Exception) else _RetryError()
            for future in followers:
                if not future.done():
                    future.set_exception(error)
            raise
        finally:
            if self._running.get(key) is followers:
                del self._running[key]
        for future in followers:
            if not future.done():
                future.set_result(result)
        return result

    def take_joined(self, key: K) -> int:
        """How many callers joined calls of ``key`` since the last ``take_joined``."""
        if len(self._joined) > _MAX_JOINED:
            self._joined.clear()  # best effort past this many busy keys
        return self._joined.pop(key, 0)
