"""Blocking waits on Redis: a worker's wait for new tasks (``BLPOP`` on the queue's wake-up
list) and a caller's wait for one task to finish (its pub/sub channel)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from jeex_cache.config import Settings
from jeex_cache.core.connect import create_client
from jeex_cache.core.errors import BackendError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import LuaScript
from jeex_cache.tasks.model import Task

__all__ = ["TIMER_SLACK", "RedisTaskWaiter", "wait_finished"]

_INTERRUPT = LuaScript.load(__name__, "task_interrupt")


async def wait_finished(
    executor: RedisExecutor,
    channel: str,
    read: Callable[[], Awaitable[Task | None]],
    seconds: float,
) -> Task | None:
    """Subscribe to the task's channel, read it, and if it runs still, wait for the message
    its end publishes (no polling); ``TimeoutError`` after ``seconds``."""
    pubsub = executor.client.pubsub()
    try:
        return await _wait(pubsub, channel, read, seconds)
    except RedisError as exc:
        raise BackendError(f"waiting for a task failed: {type(exc).__name__}") from exc
    finally:
        await _close(pubsub)


async def _close(pubsub: PubSub) -> None:
    # Through Any: redis-py types PubSub.aclose from 8.2 on, not before.
    closable: Any = pubsub
    await closable.aclose()


async def _wait(
    pubsub: PubSub, channel: str, read: Callable[[], Awaitable[Task | None]], seconds: float
) -> Task | None:
    deadline = asyncio.get_running_loop().time() + seconds
    async with asyncio.timeout_at(deadline):
        await pubsub.subscribe(channel)
        while await _next_message(pubsub, deadline, ignore_subscribe_messages=False) is None:
            pass  # the confirmation: from now on no end is missed
        task = await read()
        if task is None or task.status.finished:
            return task
        while await _next_message(pubsub, deadline, ignore_subscribe_messages=True) is None:
            pass
    return await read()


async def _next_message(
    pubsub: PubSub, deadline: float, *, ignore_subscribe_messages: bool
) -> dict[str, Any] | None:
    """One read, blocking until ``deadline`` at most. The budget is given explicitly: with
    ``timeout=None`` some redis-py releases (5.x) bound the read by the client's short socket
    timeout. And the deadline is checked here too, since redis-py may swallow the cancellation
    that ``asyncio.timeout`` sends, which would leave the loop reading for ever."""
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        raise TimeoutError
    message: dict[str, Any] | None = await pubsub.get_message(
        ignore_subscribe_messages=ignore_subscribe_messages, timeout=remaining
    )
    return message


TIMER_SLACK = 0.1
"""How late Redis may end a ``BLPOP`` after its timeout: it times blocked clients out on its
server cron (``hz`` 10 by default, every 100 ms), so a 19 ms timeout can take 100 ms."""


class RedisTaskWaiter:
    """Blocks on a queue's wake-up list with ``BLPOP`` on a connection of its own.

    A blocked command holds its connection for the whole wait: taken from the shared pool,
    it would starve other callers behind the executor's gate, and the pool's socket timeout
    (a stalled server's bound) is shorter than the wait. So each waiter has a one-connection
    client whose socket timeout covers ``max_wait``, behind an executor of its own.

    ``interrupt`` pushes to a second key the waiter also blocks on, through the shared
    connections: cancelling a blocked read is not reliable (redis-py may swallow the
    cancellation while it reconnects), a message through Redis is.
    """

    def __init__(
        self,
        shared: RedisExecutor,
        settings: Settings,
        wake_key: str,
        own_key: str,
        max_wait: float,
    ) -> None:
        self._shared = shared
        self._own_key = own_key
        timeout = max_wait + settings.redis_socket_timeout + 1.0
        self._client = create_client(settings, max_connections=1, socket_timeout=timeout)
        self._redis = RedisExecutor(
            self._client,
            settings.cache_namespace,
            max_in_flight=1,
            wait_timeout=settings.redis_pool_timeout,
            breaker=shared.breaker,  # one view of the server's health per backend
            # On a cluster the BLPOP goes to the queue's node: per-node clients of `timeout`.
            router=shared.router if shared.sharded else None,
            dedicated_timeout=timeout,
        )
        self._key = wake_key
        self._max_wait = max_wait

    async def wait(self, seconds: float) -> bool:
        """Block on the wake-up list. A wait shorter than ``max_wait`` ends at a known time
        (a task falls due, a paced project may go): its last ``TIMER_SLACK`` is slept here,
        so the worker wakes when that time comes, not up to 100 ms later (a short wait is
        slept here whole). A wait of ``max_wait`` blocks all of it: only a new task ends it."""
        blocking = min(seconds, self._max_wait)
        if blocking < 0.001:  # BLPOP's 0 would block for ever
            return False
        slack = 0.0 if seconds >= self._max_wait else min(TIMER_SLACK, blocking)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + blocking
        if blocking - slack >= 0.001:
            timeout = f"{blocking - slack:.3f}"
            if await self._redis.command("BLPOP", self._key, self._own_key, timeout) is not None:
                return True
        remaining = deadline - loop.time()
        if slack and remaining > 0:
            await asyncio.sleep(remaining)
        return False

    async def interrupt(self) -> None:
        expiry_ms = round((self._max_wait + 60) * 1000)
        await self._shared.script(_INTERRUPT, (self._own_key,), (expiry_ms,))

    async def close(self) -> None:
        await self._client.aclose()
