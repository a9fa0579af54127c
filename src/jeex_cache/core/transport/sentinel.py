"""``SentinelRouter``: the multiplexed connections follow the master that Sentinel names.

Before its first connection it asks the sentinels ``SENTINEL get-master-addr-by-name``
(all at once, their answers taken in order), checks with ``ROLE`` that the server named is
a master, and points its ``NodePool`` there; until then no connection is opened.
It asks again, until a master answers, whenever the pool reports trouble (a connection
lost or refused, a READONLY reply) and whenever a sentinel announces ``+switch-master``
(one subscriber connection, to one sentinel at a time). While it looks, calls fail fast as
connection errors (the failure table decides); none waits for the failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

import hiredis

from jeex_cache.core.transport.connection import Connection, Limits
from jeex_cache.core.transport.errors import ConnectError, ReplyError, TransportError
from jeex_cache.core.transport.pool import NodePool
from jeex_cache.core.transport.protocol import encode
from jeex_cache.core.transport.sentinel_url import SentinelConfig
from jeex_cache.core.transport.url import Endpoint

__all__ = ["SentinelRouter"]

logger = logging.getLogger("jeex_cache.transport")

_RETRY_MIN, _RETRY_MAX = 0.05, 0.5  # seconds between rounds of asking while no master answers


class SentinelRouter:
    """One ``NodePool`` on the current master of ``config.service``."""

    def __init__(self, config: SentinelConfig, *, size: int, limits: Limits) -> None:
        self.config = config
        self.limits = limits
        self.pool = NodePool(
            config.master,
            size=size,
            limits=limits,
            on_trouble=self._trouble,
            before_connect=self._first,
        )
        self._asking = asyncio.Lock()
        self._nodes = (self.pool,)
        self._search: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._switched = asyncio.Event()
        self._closed = False
        self.switches = 0  # times the pool was moved to another server after the first
        self._found = False

    @property
    def nodes(self) -> Sequence[NodePool]:
        return self._nodes

    def route(self, key: str | bytes | None) -> NodePool:
        return self.pool

    async def open(self) -> None:
        """Find the master and connect (failures tolerated: the search goes on)."""
        try:
            await self._first()
        except ConnectError:
            self._trouble()
        else:
            await self.pool.open()
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        self._closed = True
        for task in (self._search, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.pool.close()

    # -- finding the master ----------------------------------------------------------------

    async def _first(self) -> None:
        """Before the first connection: ask where the master is (the pool's hook). Raises
        ``ConnectError`` while no sentinel names one: the URL's placeholder host is never
        connected to."""
        if not self._found:
            async with self._asking:
                if not self._found and not await self._find():
                    raise ConnectError(
                        f"no sentinel names a master for {self.config.service!r} yet"
                    )

    def _trouble(self) -> None:
        if self._closed or (self._search is not None and not self._search.done()):
            return
        self._search = asyncio.get_running_loop().create_task(self._keep_looking())

    async def _keep_looking(self) -> None:
        delay = _RETRY_MIN
        while not self._closed:
            self._switched.clear()
            if await self._find():
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._switched.wait()  # a +switch-master cuts the wait short
            delay = min(delay * 2, _RETRY_MAX)

    async def _find(self) -> bool:
        """Ask the sentinels (at once: a dead one costs one connect timeout, not one each);
        point the pool at the first server they name, in their order, that is a master."""
        answers = await asyncio.gather(*(self._ask(node) for node in self.config.sentinels))
        tried: set[tuple[str, int]] = set()
        for address in answers:
            if address is None or address in tried:
                continue
            tried.add(address)
            candidate = replace(
                self.config.master,
                host=address[0],
                port=address[1],
                server_hostname=address[0] if self.config.master.ssl is not None else None,
            )
            if await self._is_master(candidate):
                if self.pool.repoint(candidate) and self._found:
                    self.switches += 1
                    logger.warning("redis master is %s now", candidate.address)
                self._found = True
                return True
        return False

    async def _ask(self, sentinel: Endpoint) -> tuple[str, int] | None:
        try:
            connection = await Connection.open(sentinel, self.limits)
        except (TransportError, ReplyError) as exc:
            logger.debug("sentinel %s: %s", sentinel.address, exc)
            return None
        try:
            service = self.config.service
            reply = await connection.call("SENTINEL", "get-master-addr-by-name", service)
        except (TransportError, ReplyError) as exc:
            logger.debug("sentinel %s: %s", sentinel.address, exc)
            return None
        finally:
            connection.close()
        if not reply:
            return None
        return reply[0].decode(), int(reply[1])

    async def _is_master(self, endpoint: Endpoint) -> bool:
        try:
            connection = await Connection.open(endpoint, self.limits)
        except (TransportError, ReplyError):
            return False
        try:
            role = await connection.call("ROLE")
        except (TransportError, ReplyError):
            return False
        finally:
            connection.close()
        return bool(role) and role[0] == b"master"

    # -- +switch-master --------------------------------------------------------------------

    async def _watch(self) -> None:
        """Listen for ``+switch-master`` on one sentinel after another, for ever."""
        while not self._closed:
            for sentinel in self.config.sentinels:
                try:
                    await self._listen(sentinel)
                except (OSError, TimeoutError, TransportError, hiredis.ProtocolError) as exc:
                    logger.debug("sentinel %s subscription: %s", sentinel.address, exc)
                await asyncio.sleep(_RETRY_MAX)

    async def _listen(self, sentinel: Endpoint) -> None:
        async with asyncio.timeout(self.limits.connect_timeout):
            reader, writer = await asyncio.open_connection(
                sentinel.host,
                sentinel.port,
                ssl=sentinel.ssl,
                server_hostname=sentinel.server_hostname,
            )
        try:
            commands = []
            user, password = sentinel.username, sentinel.password
            if password is not None:
                commands.append(encode(("AUTH", user, password) if user else ("AUTH", password)))
            commands.append(encode(("SUBSCRIBE", "+switch-master")))
            writer.write(b"".join(commands))
            parser = hiredis.Reader(replyError=ReplyError)
            while True:
                data = await reader.read(65_536)
                if not data:
                    raise ConnectError(f"sentinel {sentinel.address} closed the subscription")
                parser.feed(data)
                while (message := parser.gets()) is not False:
                    if isinstance(message, ReplyError):
                        raise ConnectError(f"sentinel {sentinel.address}: {message}")
                    self._message(message)
        finally:
            writer.close()

    def _message(self, message: object) -> None:
        if not isinstance(message, list) or len(message) != 3 or message[0] != b"message":
            return
        service = bytes(message[2]).split(b" ", 1)[0]
        if service.decode(errors="replace") == self.config.service:
            self._switched.set()
            self._trouble()
