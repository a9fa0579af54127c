"""``Connection``: one multiplexed connection, its handshake, bounds and deadline watchdog.

Any number of callers share it. ``has_room`` says whether it takes one more command within
its bounds (commands and bytes in flight); the pool queues callers while none has room. The
watchdog closes the connection when its oldest unanswered write is older than the deadline:
a stalled server (SIGSTOP, a partition) fails the calls in flight by their deadline, and the
pool opens a fresh connection for the next ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jeex_cache.core.transport.errors import ConnectError, ReplyError, TransportError
from jeex_cache.core.transport.protocol import Arg, Batch, PushHandler, RespProtocol, encode
from jeex_cache.core.transport.url import Endpoint

__all__ = ["Connection", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection bounds and timeouts.

    ``deadline``: the longest a written command waits for its reply before its connection
    is declared stalled. ``connect_timeout`` covers connect, TLS and handshake.
    """

    deadline: float = 0.25
    connect_timeout: float = 0.25
    max_inflight: int = 256
    max_inflight_bytes: int = 4 * 1_048_576


class Connection(RespProtocol):
    """A connected, authenticated link; build it with ``await Connection.open(...)``."""

    def __init__(
        self,
        limits: Limits,
        *,
        on_push: PushHandler | None = None,
        on_answered: Callable[[Connection], None] | None = None,
        on_lost: Callable[[Connection], None] | None = None,
    ) -> None:
        super().__init__(on_push)
        self.limits = limits
        self.max_inflight = limits.max_inflight
        self.max_bytes = limits.max_inflight_bytes
        self._on_answered = on_answered
        self._on_lost = on_lost
        self._watchdog: asyncio.TimerHandle | None = None

    @classmethod
    async def open(
        cls,
        endpoint: Endpoint,
        limits: Limits,
        *,
        on_push: PushHandler | None = None,
        on_answered: Callable[[Connection], None] | None = None,
        on_lost: Callable[[Connection], None] | None = None,
    ) -> Connection:
        """Connect and run the handshake (AUTH or HELLO, CLIENT SETNAME, SELECT).

        Raises ``ConnectError`` (transient) or, for a refused handshake such as a wrong
        password, the server's ``ReplyError``.
        """
        loop = asyncio.get_running_loop()
        connection = cls(limits, on_push=on_push)  # callbacks attached once it is open
        where = endpoint.address
        try:
            async with asyncio.timeout(limits.connect_timeout):
                if endpoint.path is not None:
                    await loop.create_unix_connection(
                        lambda: connection, endpoint.path, ssl=endpoint.ssl
                    )
                else:
                    await loop.create_connection(
                        lambda: connection,
                        endpoint.host,
                        endpoint.port,
                        ssl=endpoint.ssl,
                        server_hostname=endpoint.server_hostname,
                    )
                await connection._handshake(endpoint)
        except TimeoutError:
            connection.close()
            raise ConnectError(
                f"redis at {where}: no connection within {limits.connect_timeout}s"
            ) from None
        except OSError as exc:
            connection.close()
            raise ConnectError(f"redis at {where}: {exc}") from exc
        except TransportError as exc:
            connection.close()
            raise ConnectError(f"redis at {where}: {exc}") from exc
        except BaseException:
            connection.close()
            raise
        connection._on_answered = on_answered
        connection._on_lost = on_lost
        return connection

    async def _handshake(self, endpoint: Endpoint) -> None:
        commands: list[tuple[Arg, ...]] = []
        user, password, name = endpoint.username, endpoint.password, endpoint.client_name
        if endpoint.protocol == 3:
            hello: tuple[Arg, ...] = ("HELLO", 3)
            if password is not None:
                hello += ("AUTH", user or "default", password)
            if name:
                hello += ("SETNAME", name)
            commands.append(hello)
        else:
            if password is not None:
                commands.append(("AUTH", user, password) if user else ("AUTH", password))
            if name:
                commands.append(("CLIENT", "SETNAME", name))
        if endpoint.db:
            commands.append(("SELECT", endpoint.db))
        if not commands:
            commands.append(("PING",))  # the server answers, not only its kernel
        for reply in await self.pipeline(commands):
            if isinstance(reply, ReplyError):
                raise reply

    # -- use -------------------------------------------------------------------------------

    def has_room(self) -> bool:
        """Open, and within its bounds of commands and bytes in flight."""
        return (
            not self.closed
            and self.inflight < self.max_inflight
            and self.inflight_bytes < self.max_bytes
        )

    async def call(self, *args: Arg) -> Any:
        """Send one command and return its reply (raising an error reply)."""
        future: asyncio.Future[Any] = self._loop.create_future()
        self.append(future, encode(args), 1)
        reply = await future
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send ``commands`` in one write; their replies, error replies in place."""
        future: asyncio.Future[Any] = self._loop.create_future()
        data = b"".join(encode(tuple(command)) for command in commands)
        self.append(Batch(future, len(commands)), data, len(commands))
        replies = await future
        if isinstance(replies, TransportError):
            raise replies
        result: list[Any] = replies
        return result

    def close(self) -> None:
        """Close now; calls pending fail as ``ConnectionLost``."""
        self.abort("redis connection closed")

    # -- hooks -----------------------------------------------------------------------------

    def answered(self) -> None:
        if self._on_answered is not None:
            self._on_answered(self)

    def flushed(self) -> None:
        if self._watchdog is None:
            self._arm()

    def lost(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._on_lost is not None:
            self._on_lost(self)

    def _arm(self) -> None:
        if self._flushes:
            when = self._flushes[0][0] + self.limits.deadline
            self._watchdog = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._watchdog = None
        if self.closed or not self._flushes:
            return
        oldest = self._flushes[0][0]
        if self._loop.time() - oldest >= self.limits.deadline - 0.001:  # timer resolution
            self.abort(
                f"redis did not answer within {self.limits.deadline}s; connection closed",
                stalled=True,
            )
        else:
            self._arm()
