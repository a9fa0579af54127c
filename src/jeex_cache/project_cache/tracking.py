"""``InvalidationTracker``: Redis tells the near cache which project keys changed.

One dedicated RESP3 connection per node runs ``CLIENT TRACKING ON BCAST PREFIX
<ns>:proj:``: the server pushes an ``invalidate`` message for every key written under the
prefix, by any client, ours included. BCAST needs nothing on the read path (OPTIN would need
``CLIENT CACHING yes`` before each read, on the read's own connection: state on a shared
multiplexed link, and one more command per miss); its cost is one push per written key,
small while project data is read far more than written (docs/project-cache.md).

The near cache serves only while every node's connection is tracking. A lost connection
suspends it at once (flushed, nothing served or stored); the tracker reconnects with backoff,
and the near cache is flushed again and resumed once tracking is back. A PING every
``keepalive`` seconds lets the connection's deadline catch a server that went silent.

The nodes are read from the router, not fixed at start: after a Sentinel failover (the pool
re-pointed at the promoted master) or a cluster topology change, the tracker opens a tracking
connection to each new node and drops those of nodes that are gone, checking every
``keepalive`` seconds and at once when a connection is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from jeex_cache.core.transport import Connection, Endpoint, Limits, ReplyError, TransportError
from jeex_cache.project_cache.near_cache import NearCache

__all__ = ["InvalidationTracker"]

logger = logging.getLogger("jeex_cache.near_cache")

_BACKOFF = (0.05, 2.0)  # first and longest pause between reconnection attempts, seconds


class _Node:
    """The tracking connection of one node, kept open by ``run``."""

    def __init__(self, owner: InvalidationTracker, endpoint: Endpoint) -> None:
        self.owner = owner
        self.endpoint = dataclasses.replace(endpoint, protocol=3)
        self.up = False
        self.connection: Connection | None = None
        self._lost = asyncio.Event()

    async def run(self) -> None:
        delay = _BACKOFF[0]
        while True:
            if await self._track():
                delay = _BACKOFF[0]
                await self._keep_alive()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACKOFF[1])

    async def _track(self) -> bool:
        owner = self.owner
        self._lost.clear()
        try:
            connection = await Connection.open(
                self.endpoint, owner.limits, on_push=self._pushed, on_lost=self._on_lost
            )
        except (TransportError, ReplyError, OSError) as exc:
            logger.debug("near cache: tracking connection failed: %s", exc)
            return False
        self.connection = connection
        try:
            await connection.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", owner.prefix)
        except (TransportError, ReplyError) as exc:
            logger.warning("near cache: CLIENT TRACKING refused: %s", exc)
            connection.close()
            return False
        if connection.closed:
            return False
        self.up = True
        owner.node_up()
        return True

    async def _keep_alive(self) -> None:
        connection = self.connection
        assert connection is not None
        while not connection.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.owner.keepalive)
            if connection.closed:
                break
            with contextlib.suppress(TransportError, ReplyError):
                await connection.call("PING")

    def _on_lost(self, connection: Connection) -> None:
        self._lost.set()
        self.owner.changed.set()
        if self.up:
            self.up = False
            self.owner.node_down()

    def _pushed(self, message: list[Any]) -> None:
        if len(message) == 2 and message[0] == b"invalidate":
            keys = message[1]
            self.owner.near.received(None if keys is None else [k.decode() for k in keys])

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


class InvalidationTracker:
    """Keeps ``near`` in step with Redis through one tracking connection per node of
    ``endpoints()`` (the router's nodes, read again whenever the topology may have moved)."""

    def __init__(
        self,
        near: NearCache,
        endpoints: Callable[[], Sequence[Endpoint]],
        prefix: str,
        limits: Limits,
        *,
        keepalive: float = 1.0,
    ) -> None:
        self.near = near
        self.prefix = prefix
        self.limits = limits
        self.keepalive = keepalive
        self.changed = asyncio.Event()
        self._endpoints = endpoints
        self._nodes: dict[str, tuple[_Node, asyncio.Task[None]]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._serving = asyncio.Event()

    def start(self) -> None:
        """Open the tracking connections in the background (the near cache serves once all
        of them track)."""
        self._reconcile()
        self._supervisor = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), self.keepalive)
            self.changed.clear()
            self._reconcile()

    def _reconcile(self) -> None:
        """One tracking connection per current node: new nodes get one, gone nodes lose it."""
        current = {_address(endpoint): endpoint for endpoint in self._endpoints()}
        gone = [address for address in self._nodes if address not in current]
        for address in gone:
            node, task = self._nodes.pop(address)
            task.cancel()
            node.close()
        loop = asyncio.get_running_loop()
        added = False
        for address, endpoint in current.items():
            if address not in self._nodes:
                node = _Node(self, endpoint)
                self._nodes[address] = (node, loop.create_task(node.run()))
                added = True
        if added:
            self.node_down()  # a node not tracking yet: nothing served until it is
        elif gone:
            self.node_up()

    async def wait_serving(self) -> None:
        """Return once the near cache serves (every node tracking)."""
        await self._serving.wait()

    def node_up(self) -> None:
        if self._nodes and all(node.up for node, _ in self._nodes.values()):
            if not self.near.serving:
                logger.info("near cache: invalidations flow; serving")
                self.near.resume()
            self._serving.set()

    def node_down(self) -> None:
        if self.near.serving:
            logger.warning("near cache: tracking connection lost; flushed until it is back")
        self.near.suspend()
        self._serving.clear()

    async def close(self) -> None:
        """Stop tracking; the near cache stops serving."""
        tasks = [task for _, task in self._nodes.values()]
        if self._supervisor is not None:
            tasks.append(self._supervisor)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for node, _ in self._nodes.values():
            node.up = False
            node.close()
        self.near.suspend()
        self._serving.clear()


def _address(endpoint: Endpoint) -> str:
    return endpoint.address
