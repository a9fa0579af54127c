"""``ProgressListener``: one subscriber connection per process, shared by every listener.

Following an operation live must not hold a pooled connection: a blocking read per listener
(XREAD BLOCK) would take one of ``REDIS_MAX_CONNECTIONS`` for as long as a browser keeps a
page open, and a few dozen idle listeners would starve every cache call behind the gate. So
the update scripts PUBLISH each event, and this class keeps a single dedicated connection
(outside the pool and its gate) subscribed to the channels of the operations someone follows,
relaying each message to that operation's local ``Subscription``s. The event stream stays the
record of truth: a listener reads it after subscribing and whenever the live feed shows a gap,
so a message lost with a connection costs a re-read, never an event.

On a cluster the scripts SPUBLISH (sharded pub/sub) and ``ShardedListener`` keeps one such
listener per node, each SSUBSCRIBEd to the channels whose slot that node serves. When a slot
moves the server ends the subscription (``sunsubscribe``): its subscriptions are told they were
lost, and subscribing again finds the slot's new owner.

This and ``RedisExecutor`` are the only places that talk to Redis; driver errors become
``BackendError`` here too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from jeex_cache.core.errors import BackendError
from jeex_cache.progress.model import ProgressEvent
from jeex_cache.progress.stream import Subscription

__all__ = ["Listener", "ProgressListener", "ShardedListener"]

logger = logging.getLogger("jeex_cache.redis")

Decoder = Callable[[bytes], ProgressEvent]


class _Channel:
    """Local subscribers of one channel, and the SUBSCRIBE confirmations awaited for it."""

    __slots__ = ("active", "decode", "requested", "subscribers", "waiters")

    def __init__(self, decode: Decoder) -> None:
        self.decode = decode
        self.subscribers: set[Subscription] = set()
        self.waiters: deque[asyncio.Future[None]] = deque()  # one per SUBSCRIBE sent, in order
        self.requested: asyncio.Future[None] | None = None  # the latest SUBSCRIBE's
        self.active = False  # confirmed, and no UNSUBSCRIBE sent since


class ProgressListener:
    """Relays published progress events from one dedicated connection to local listeners.

    The connection is opened on the first ``subscribe`` and kept; when it fails, every open
    subscription is told it was lost (its listener reads the log and subscribes again).
    """

    def __init__(
        self,
        pool: aioredis.ConnectionPool,
        *,
        confirm_timeout: float,
        idle_ping: float = 10.0,
        sharded: bool = False,
    ) -> None:
        self._pool = pool  # only to build a connection like the pool's (URL, TLS, auth)
        self._subscribe, self._unsubscribe = (
            ("SSUBSCRIBE", "SUNSUBSCRIBE") if sharded else ("SUBSCRIBE", "UNSUBSCRIBE")
        )
        self._confirm_timeout = confirm_timeout
        self._idle_ping = idle_ping
        self._connection: AbstractConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._channels: dict[bytes, _Channel] = {}
        self._opening = asyncio.Lock()
        self._closed = False
        self._dropping: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def subscribe(self, channel: str, decode: Decoder) -> AsyncIterator[Subscription]:
        """A subscription that receives every message published on ``channel`` from the
        moment the server confirmed the SUBSCRIBE until the context is left."""
        name = channel.encode()
        connection = await self._connect()
        entry = self._channels.get(name)
        if entry is None:
            entry = self._channels[name] = _Channel(decode)
        subscription = Subscription()
        entry.subscribers.add(subscription)
        try:
            await self._confirm(connection, name, entry)
            yield subscription
        finally:
            entry.subscribers.discard(subscription)
            if not entry.subscribers and self._channels.get(name) is entry:
                entry.active, entry.requested = False, None
                with suppress(BackendError):
                    await self._send(connection, self._unsubscribe, name)

    async def _confirm(self, connection: AbstractConnection, name: bytes, entry: _Channel) -> None:
        if entry.active:
            return
        if entry.requested is None:
            entry.requested = asyncio.get_running_loop().create_future()
            entry.waiters.append(entry.requested)
            await self._send(connection, self._subscribe, name)
        try:
            async with asyncio.timeout(self._confirm_timeout):
                await asyncio.shield(entry.requested)
        except TimeoutError:
            raise BackendError(
                f"redis did not confirm {self._subscribe} within {self._confirm_timeout}s"
            ) from None

    async def _connect(self) -> AbstractConnection:
        if self._connection is not None:
            return self._connection
        async with self._opening:
            if self._connection is not None:
                return self._connection
            if self._closed:
                raise BackendError("the progress listener is closed")
            # Through Any: how redis-py types these calls depends on its version.
            pool: Any = self._pool
            connection: AbstractConnection = pool.make_connection()
            try:
                await _connect(connection)
            except (RedisError, OSError) as exc:
                raise BackendError(f"progress listener cannot connect: {exc}") from exc
            self._connection = connection
            self._reader = asyncio.create_task(self._read(connection), name="jeex-progress")
            return connection

    async def _send(self, connection: AbstractConnection, *args: str | bytes) -> None:
        try:
            await connection.send_command(*args, check_health=False)
        except (RedisError, OSError) as exc:
            self._lose(connection, exc)
            raise BackendError(f"progress listener {args[0]!s} failed: {exc}") from exc

    async def _read(self, connection: AbstractConnection) -> None:
        pinged = False
        try:
            while True:
                reply = await connection.read_response(timeout=self._idle_ping, push_request=True)
                if reply is None:  # silence: make sure the server is still there
                    if pinged:
                        raise TimeoutError("no answer to PING")
                    await connection.send_command("PING", check_health=False)
                    pinged = True
                    continue
                pinged = False
                self._dispatch(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection is unusable, whatever broke it
            self._lose(connection, exc)

    def _dispatch(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) != 3:
            return  # PONG
        kind, name, data = reply
        entry = self._channels.get(name)
        if entry is None:
            return
        if kind in (b"message", b"smessage"):
            try:
                event = entry.decode(data)
            except (ValueError, TypeError, KeyError):
                logger.warning("ignoring a malformed progress event on %r", name)
                return  # the next event's previous_id reveals the gap
            for subscription in entry.subscribers:
                subscription.push(event)
        elif kind in (b"subscribe", b"ssubscribe"):
            waiter = entry.waiters.popleft() if entry.waiters else None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if waiter is not None and waiter is entry.requested:
                entry.active = True
        elif kind == b"sunsubscribe" and entry.active:  # the server's: the slot moved
            del self._channels[name]
            for subscription in entry.subscribers:
                subscription.lose()
        elif kind in (b"unsubscribe", b"sunsubscribe") and not (entry.subscribers or entry.waiters):
            del self._channels[name]

    def _lose(self, connection: AbstractConnection, exc: BaseException) -> None:
        if self._connection is not connection:
            return  # already handled
        self._connection = None
        if not self._closed:
            logger.warning("progress listener connection lost: %s", exc)
        channels, self._channels = self._channels, {}
        error = BackendError(f"progress listener connection lost: {exc}")
        for entry in channels.values():
            for waiter in entry.waiters:
                if not waiter.done():
                    waiter.set_exception(error)
                    waiter.exception()  # retrieved: nobody may be waiting any more
            for subscription in entry.subscribers:
                subscription.lose()
        dropping = asyncio.get_running_loop().create_task(connection.disconnect(nowait=True))
        self._dropping.add(dropping)
        dropping.add_done_callback(self._dropping.discard)

    async def close(self) -> None:
        """Drop the connection; open subscriptions are told they were lost."""
        self._closed = True
        reader, self._reader = self._reader, None
        connection = self._connection
        if connection is not None:
            self._lose(connection, BackendError("closed"))
        if reader is not None:
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader
        if self._dropping:
            await asyncio.wait(self._dropping)


class ShardedListener:
    """On a cluster: one sharded ``ProgressListener`` per node, picked by the channel's slot
    (``pool_for(channel)`` is the redis-py pool of the node that serves it).

    ``locate(channel)`` runs first on each subscribe: one keyed round trip that follows a
    MOVED, so that a subscription ended by a slot move finds the slot's new owner.
    """

    def __init__(
        self,
        pool_for: Callable[[str], aioredis.ConnectionPool],
        *,
        confirm_timeout: float,
        locate: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self._pool_for = pool_for
        self._locate = locate
        self._confirm_timeout = confirm_timeout
        self._listeners: dict[aioredis.ConnectionPool, ProgressListener] = {}

    @asynccontextmanager
    async def subscribe(self, channel: str, decode: Decoder) -> AsyncIterator[Subscription]:
        """As ``ProgressListener.subscribe``, on the node that serves ``channel`` now."""
        if self._locate is not None:
            await self._locate(channel)
        pool = self._pool_for(channel)
        listener = self._listeners.get(pool)
        if listener is None:
            listener = self._listeners[pool] = ProgressListener(
                pool, confirm_timeout=self._confirm_timeout, sharded=True
            )
        async with listener.subscribe(channel, decode) as subscription:
            yield subscription

    async def close(self) -> None:
        """Close every node's listener."""
        listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            await listener.close()


Listener = ProgressListener | ShardedListener


async def _connect(connection: AbstractConnection) -> None:
    untyped: Any = connection  # redis-py types ``connect`` in some versions only
    await untyped.connect()
