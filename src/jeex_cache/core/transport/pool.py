"""``NodePool``: a few multiplexed connections to one server, shared by every caller.

A command goes to the open connection with the fewest commands in flight that has room.
While none has room (or none is open yet), callers queue here in arrival order, each with
its encoded command, and are handed to a connection as soon as one has room: they wait,
they do not fail. A broken connection is dropped at once; the next call opens a new one, up
to ``size``. A command that was queued but never written when its connection broke is sent
again on another connection (it cannot have run); one that was written is not (the caller's
retry policy decides), and neither is one whose connection could not be opened.

A router that can find the server elsewhere (Sentinel) passes ``on_trouble``: it is called
when a connection breaks or cannot be opened, or the server answers READONLY (it was
demoted). A READONLY reply then fails as ``ConnectError`` (transient: the command did not
run). ``before_connect`` runs before each connection is opened (Sentinel: the first one
asks where the master is). ``repoint`` moves the pool to another endpoint: its connections
are closed (the calls in flight on them fail, those not yet written go to the new server).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from jeex_cache.core.transport.connection import Connection, Limits
from jeex_cache.core.transport.errors import ConnectError, ConnectionLost, ReplyError
from jeex_cache.core.transport.protocol import Batch, PushHandler
from jeex_cache.core.transport.url import Endpoint

__all__ = ["NodePool"]

logger = logging.getLogger("jeex_cache.transport")

_Waiter = tuple[Any, bytes, int]  # (Future | Batch, encoded commands, command count)


class NodePool:
    """Up to ``size`` connections to ``endpoint``; see the module docstring."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        size: int = 2,
        limits: Limits | None = None,
        on_push: PushHandler | None = None,
        on_trouble: Callable[[], None] | None = None,
        before_connect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._on_trouble = on_trouble
        self._before_connect = before_connect
        self._repointing = False
        self.size = size
        self.limits = limits or Limits()
        self._on_push = on_push
        self.connections: list[Connection] = []
        self._connecting = 0
        self._waiters: deque[_Waiter] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def inflight(self) -> int:
        """Commands written or queued on the connections, not yet answered."""
        return sum(connection.inflight for connection in self.connections)

    @property
    def queued(self) -> int:
        """Callers waiting for room on a connection."""
        return len(self._waiters)

    async def open(self) -> None:
        """Open the connections now (a failure is logged; calls will try again)."""
        while len(self.connections) + self._connecting < self.size:
            self._grow()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def execute(self, data: bytes) -> Any:
        """Send one encoded command; its reply. Raises ``ReplyError`` or a transport error."""
        reply = await self.submit(data)
        if isinstance(reply, Exception):
            return await self.settle(reply, data)
        return reply

    def submit(self, data: bytes) -> asyncio.Future[Any]:
        """Send one encoded command; the future of its reply. An error reply or a transport
        error is the future's result, not raised: hand it to ``settle``, which raises it or
        sends the command again. (``execute`` does both; a caller awaiting the future itself
        saves a coroutine.)"""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # The common case, inline (``_submit`` and ``_pick`` without their frames): no one
        # queued, every connection open or opening, one of them with room.
        best: Connection | None = None
        if not self._waiters and len(self.connections) + self._connecting >= self.size:
            for connection in self.connections:
                if (
                    not connection.closed
                    and connection.inflight < connection.max_inflight
                    and connection.inflight_bytes < connection.max_bytes
                    and (best is None or connection.inflight < best.inflight)
                ):
                    best = connection
        if best is not None and not self._closed:
            best.append(future, data, 1)
        else:
            self._submit(future, data, 1)
        return future

    async def settle(self, error: Exception, data: bytes) -> Any:
        """What a command ``submit`` answered with ``error`` comes to: its reply when it was
        never written and goes through on a second connection, else raised (READONLY as
        ``ConnectError``, for a router that can find the master elsewhere)."""
        for attempt in (0, 1):
            if self._on_trouble is not None and _is_readonly(error):
                raise self._demoted()
            if type(error) is not ConnectionLost or error.sent or attempt:
                raise error
            reply = await self.submit(data)
            if not isinstance(reply, Exception):
                return reply
            error = reply
        raise AssertionError("unreachable")  # pragma: no cover

    async def execute_many(self, data: bytes, count: int) -> list[Any]:
        """Send ``count`` encoded commands in one piece; their replies (``ReplyError`` in
        place of a failed one). Raises a transport error if the link failed."""
        loop = asyncio.get_running_loop()
        for attempt in (0, 1):
            future: asyncio.Future[Any] = loop.create_future()
            self._submit(Batch(future, count), data, count)
            replies = await future
            if isinstance(replies, Exception):
                if type(replies) is ConnectionLost and not replies.sent and attempt == 0:
                    continue
                raise replies
            result: list[Any] = replies
            if self._on_trouble is not None:
                for index, item in enumerate(result):
                    if _is_readonly(item):
                        result[index] = self._demoted()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _submit(self, entry: Any, data: bytes, count: int) -> None:
        if self._closed:
            future = entry.future if type(entry) is Batch else entry
            future.set_result(ConnectError("the redis transport is closed"))
            return
        if not self._waiters:
            connection = self._pick()
            if connection is not None:
                connection.append(entry, data, count)
                return
        self._waiters.append((entry, data, count))
        if not self.connections and not self._connecting:
            self._grow()

    def _pick(self) -> Connection | None:
        best: Connection | None = None
        for connection in self.connections:
            if connection.has_room() and (best is None or connection.inflight < best.inflight):
                best = connection
        if len(self.connections) + self._connecting < self.size:
            self._grow()
        return best

    def _drain(self, _: Connection | None = None) -> None:
        waiters = self._waiters
        while waiters:
            entry, data, count = waiters[0]
            future = entry.future if type(entry) is Batch else entry
            if future.done():  # its caller gave up while queued: nothing was sent
                waiters.popleft()
                continue
            connection = self._pick()
            if connection is None:
                return
            waiters.popleft()
            connection.append(entry, data, count)

    def _answered(self, connection: Connection) -> None:
        if self._waiters:
            self._drain()

    def _lost(self, connection: Connection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)
            if self._on_trouble is not None and not self._repointing and not self._closed:
                self._on_trouble()
        if self._waiters and not self._closed:
            self._drain()  # to the others, or open a replacement
            if not self.connections and not self._connecting:
                self._grow()

    def _grow(self) -> None:
        self._connecting += 1
        task = asyncio.get_running_loop().create_task(self._connect())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> None:
        try:
            if self._before_connect is not None:
                await self._before_connect()  # may re-point the pool
            endpoint = self.endpoint
            connection = await Connection.open(
                endpoint,
                self.limits,
                on_push=self._on_push,
                on_answered=self._answered,
                on_lost=self._lost,
            )
        except (ConnectError, ReplyError) as exc:
            self._connecting -= 1
            logger.debug("redis connect failed: %s", exc)
            if self._on_trouble is not None and not self._closed:
                self._on_trouble()
            if not self.connections and not self._connecting:
                self._fail_waiters(exc)
            return
        except BaseException:
            self._connecting -= 1
            raise
        self._connecting -= 1
        if self._closed:
            connection.close()
            return
        if endpoint is not self.endpoint:  # re-pointed while connecting: not this server
            connection.close()
            if self._waiters and len(self.connections) + self._connecting < self.size:
                self._grow()
            return
        self.connections.append(connection)
        self._drain()

    def repoint(self, endpoint: Endpoint) -> bool:
        """Serve ``endpoint`` from now on (False: it is the current one already)."""
        if endpoint == self.endpoint and endpoint.ssl is self.endpoint.ssl:
            return False
        self.endpoint = endpoint
        self._repointing = True
        try:
            for connection in list(self.connections):
                connection.close()
        finally:
            self._repointing = False
        if self._waiters and not self._closed:
            self._drain()
        return True

    def _demoted(self) -> ConnectError:
        assert self._on_trouble is not None
        self._on_trouble()
        return ConnectError(f"redis at {self.endpoint.address} is read-only now (a replica)")

    def _fail_waiters(self, error: Exception) -> None:
        incident = object()
        while self._waiters:
            entry, _, _ = self._waiters.popleft()
            future = entry.future if type(entry) is Batch else entry
            if not future.done():
                if isinstance(error, ReplyError):  # a refused handshake: one incident too
                    refused = ReplyError(str(error))
                    refused.incident = incident
                    copy: Exception = refused
                else:
                    copy = ConnectError(str(error), incident=incident)
                future.set_result(copy)

    async def close(self) -> None:
        """Close every connection; pending and queued calls fail as transport errors."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for connection in list(self.connections):
            connection.close()
        self._fail_waiters(ConnectError("the redis transport is closed"))


def _is_readonly(reply: object) -> bool:
    return type(reply) is ReplyError and str(reply).startswith("READONLY")
