"""``RespProtocol``: RESP framing over one asyncio transport, replies matched in order.

Callers append a pending entry (a future, or a ``Batch`` for a pipeline) and their encoded
bytes; every command appended within one event-loop iteration leaves in one ``write``
(a ``call_soon`` flush). Replies are parsed by ``hiredis.Reader`` and handed to the pending
entries first in, first out. A future whose caller gave up (cancelled, timed out) stays in
the queue: its reply is read and dropped, so no reply ever shifts onto another caller.

Replies, errors included, are delivered as results (``ReplyError`` and ``TransportError``
objects too), never as future exceptions: a caller that was cancelled as its reply arrived
leaves no "exception never retrieved" behind. The caller raises what it is handed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import hiredis

from jeex_cache.core.transport.errors import (
    ConnectionLost,
    DeadlineExceeded,
    ProtocolError,
    ReplyError,
)

__all__ = ["Arg", "Batch", "PushHandler", "RespProtocol", "encode"]

PushHandler = Callable[[list[Any]], None]
Arg = str | bytes | int | float
# hiredis' C encoder of one command (its stub types the tuple as having one element).
encode = cast(Callable[[tuple[Arg, ...]], bytes], hiredis.pack_command)
_MORE = object()  # hiredis: no complete reply buffered yet (False is a RESP3 value)
_PUSH = hiredis.PushNotification


class Batch:
    """The pending entry of a pipeline: ``size`` replies collected into one list."""

    __slots__ = ("future", "replies", "size")

    def __init__(self, future: asyncio.Future[Any], size: int) -> None:
        self.future = future
        self.size = size
        self.replies: list[Any] = []


class RespProtocol(asyncio.Protocol):
    """Framing, write coalescing and FIFO reply matching of one connection.

    ``inflight`` and ``inflight_bytes`` count what was appended and not yet answered (the
    bounds of ``Connection`` read them); ``_flushes`` keeps, per write, its time, the
    sequence number of its last command and its size, oldest first, until answered.
    """

    def __init__(self, on_push: PushHandler | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._reader = hiredis.Reader(
            replyError=ReplyError, protocolError=ProtocolError, notEnoughData=_MORE
        )
        self._on_push = on_push
        self.transport: asyncio.Transport | None = None
        self.pending: deque[Any] = deque()  # Future | Batch, oldest first
        self.closed = False
        self.inflight = 0
        self.inflight_bytes = 0
        self._buffer: list[bytes] = []
        self._buffered_commands = 0  # the buffer holds one piece per entry appended
        self._sent = 0  # commands written, ever
        self._received = 0  # replies matched, ever
        self._flushes: deque[tuple[float, int, int]] = deque()
        self._flush_scheduled = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they quack alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        pending = self.pending
        gets = reader.gets
        matched = 0
        try:
            while True:
                reply = gets()
                if reply is _MORE:
                    break
                if type(reply) is _PUSH:
                    if self._on_push is not None:
                        self._on_push(reply)
                    continue
                if not pending:
                    raise ProtocolError("the server sent a reply nobody asked for")
                head = pending[0]
                matched += 1
                if type(head) is Batch:
                    head.replies.append(reply)
                    if len(head.replies) < head.size:
                        continue
                    pending.popleft()
                    future = head.future
                    reply = head.replies
                else:
                    pending.popleft()
                    future = head
                if not future.done():
                    future.set_result(reply)
        except (ProtocolError, hiredis.ProtocolError) as exc:
            self.abort(f"redis protocol error: {exc}")
            return
        if matched:
            self._received += matched
            self.inflight -= matched
            flushes = self._flushes
            while flushes and flushes[0][1] <= self._received:
                self.inflight_bytes -= flushes.popleft()[2]
            self.answered()

    def eof_received(self) -> bool | None:
        return None  # let the transport close: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc is not None else " (closed)"
        self._fail(f"redis connection lost{reason}")

    # -- sending ---------------------------------------------------------------------------

    def append(self, entry: Any, data: bytes, commands: int) -> None:
        """Queue ``data`` (``commands`` encoded commands) for the next write."""
        self.pending.append(entry)
        self._buffer.append(data)
        self._buffered_commands += commands
        self.inflight += commands
        self.inflight_bytes += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        buffer = self._buffer
        if self.closed or not buffer:
            return
        transport = self.transport
        assert transport is not None
        if transport.is_closing():  # broken, and connection_lost not delivered yet
            self._fail("redis connection lost before the write")
            return
        data = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        transport.write(data)
        self._sent += self._buffered_commands
        self._flushes.append((self._loop.time(), self._sent, len(data)))
        buffer.clear()
        self._buffered_commands = 0
        self.flushed()

    # -- hooks and failure -----------------------------------------------------------------

    def answered(self) -> None:
        """Called after replies were matched (capacity was freed)."""

    def flushed(self) -> None:
        """Called after a write."""

    def abort(self, message: str, *, stalled: bool = False) -> None:
        """Fail everything pending and close the transport at once.

        ``stalled``: the server stopped answering; calls in flight fail as
        ``DeadlineExceeded``.
        """
        self._fail(message, stalled=stalled)
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, message: str, *, stalled: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        incident = object()
        unsent_from = len(self.pending) - len(self._buffer)
        for index, entry in enumerate(self.pending):
            future = entry.future if type(entry) is Batch else entry
            if future.done():
                continue
            sent = index < unsent_from
            error = (
                DeadlineExceeded(message, incident=incident)
                if stalled and sent
                else ConnectionLost(message, sent=sent, incident=incident)
            )
            future.set_result(error)
        self.pending.clear()
        self._buffer.clear()
        self._flushes.clear()
        self._buffered_commands = 0
        self.inflight = self.inflight_bytes = 0
        self.lost()

    def lost(self) -> None:
        """Called once, when the connection is closed or broken."""
