"""How a command reaches a node: the one thing the executor's topologies differ in.

``NodeRoute`` is that seam. ``ClientRoute`` sends everything through one redis-py client (an
executor built without our transport); ``PoolRoute`` sends to one server's multiplexed
``NodePool`` (standalone, Sentinel, or one master of a cluster); ``ClusterRoute`` sends to the
node that owns a key's slot, following redirects, with a circuit breaker per master.
Blocking and stateful commands go to ``dedicated(key)``, a redis-py client of the key's node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, cast

import redis.asyncio as aioredis

from jeex_cache.core._calls import command_of, encoded, first_key
from jeex_cache.core._replies import SHAPES
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.scripts import Command, ScriptCall
from jeex_cache.core.transport import ClusterRouter, NodePool, Router, encode

__all__ = ["ClientRoute", "ClusterRoute", "NodeRoute", "PoolRoute", "Sendable", "route_for"]

Calls = Sequence[ScriptCall | Command]
Sendable = Command | bytes
"""A command, or (on a route with ``takes_encoded``) its ``encode``-d bytes, made once and kept."""
Shapes = Mapping[str, Callable[[Any], Any]]
_NO_SHAPES: Shapes = {}


class NodeRoute(Protocol):
    """Where a command goes, and the breaker of the node it reaches."""

    shapes: Shapes
    """Per command name, what turns its raw reply into redis-py's shape (empty: redis-py's)."""
    only_breaker: CircuitBreaker | None
    """The breaker of every key, when the route reaches one node (spares ``breaker(key)``)."""
    takes_encoded: bool
    """``send`` and ``settle`` take a command's encoded bytes as well as the command."""

    def breaker(self, key: str | None) -> CircuitBreaker:
        """The breaker of the node serving ``key``."""
        ...

    def send(self, key: str | None, command: Sendable) -> Awaitable[Any]:
        """Send one command to the node serving ``key``; its reply. An error may come back
        as the reply itself (an exception object, not raised): ``settle`` it."""
        ...

    def settle(self, key: str | None, command: Sendable, error: Exception) -> Awaitable[Any]:
        """What ``send`` answering ``error`` comes to: raised, or (a command that never left)
        the reply of sending it again."""
        ...

    def send_many(self, key: str | None, calls: Calls) -> Awaitable[list[Any]]:
        """Pipeline ``calls`` (each to its own key's node); replies in order, errors in place."""
        ...

    def dedicated(self, key: str | None) -> aioredis.Redis:
        """The redis-py client of the node serving ``key``, for blocking and stateful commands."""
        ...

    def nodes(self) -> Sequence[NodeRoute]:
        """One route per node (a cluster's masters), for keyspace walks and SCRIPT LOAD."""
        ...

    def follow(self) -> None:
        """A node failed or its breaker refused a call: the topology may have changed."""
        ...


class ClientRoute:
    """Everything through one redis-py client (its pool of dedicated connections)."""

    shapes: Shapes = _NO_SHAPES
    takes_encoded = False  # redis-py encodes the commands itself

    def __init__(self, client: aioredis.Redis, breaker: CircuitBreaker) -> None:
        self._client = client
        self.only_breaker: CircuitBreaker | None = breaker
        self._breaker = breaker
        self._execute = cast(Callable[..., Awaitable[Any]], client.execute_command)

    def breaker(self, key: str | None) -> CircuitBreaker:
        return self._breaker

    def send(self, key: str | None, command: Sendable) -> Awaitable[Any]:
        if isinstance(command, bytes):  # the executor sends none here (``takes_encoded``)
            raise TypeError("a redis-py route takes commands, not their encoding")
        return self._execute(*command)

    async def settle(self, key: str | None, command: Sendable, error: Exception) -> Any:
        raise error  # redis-py raises its errors: none comes back as a reply

    async def send_many(self, key: str | None, calls: Calls) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            queue = cast(Callable[..., object], pipe.execute_command)
            for call in calls:
                queue(*command_of(call))
            return list(await pipe.execute(raise_on_error=False))

    def dedicated(self, key: str | None) -> aioredis.Redis:
        return self._client

    def nodes(self) -> Sequence[NodeRoute]:
        return (self,)

    def follow(self) -> None:
        return None


class PoolRoute:
    """One server's shared connections; ``client`` for the dedicated commands."""

    shapes: Shapes = SHAPES
    takes_encoded = True

    def __init__(
        self, pool: NodePool, breaker: CircuitBreaker, client: aioredis.Redis | None
    ) -> None:
        self.pool = pool
        self.only_breaker: CircuitBreaker | None = breaker
        self._breaker = breaker
        self._client = client

    def breaker(self, key: str | None) -> CircuitBreaker:
        return self._breaker

    def send(self, key: str | None, command: Sendable) -> Awaitable[Any]:
        # The pool's future itself, not a coroutine awaiting it: an error comes back as the
        # reply, for ``settle``. One coroutine less per call.
        return self.pool.submit(command if isinstance(command, bytes) else encode(command))

    def settle(self, key: str | None, command: Sendable, error: Exception) -> Awaitable[Any]:
        return self.pool.settle(error, command if isinstance(command, bytes) else encode(command))

    def send_many(self, key: str | None, calls: Calls) -> Awaitable[list[Any]]:
        return self.pool.execute_many(b"".join(encoded(call) for call in calls), len(calls))

    def dedicated(self, key: str | None) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("this node route has no dedicated client; use the cluster's")
        return self._client

    def nodes(self) -> Sequence[NodeRoute]:
        return (self,)

    def follow(self) -> None:
        return None


class ClusterRoute:
    """By slot to the owning master; a breaker per master, made from ``breaker`` on first use."""

    shapes: Shapes = SHAPES
    takes_encoded = True

    def __init__(
        self, cluster: ClusterRouter, breaker: CircuitBreaker, dedicated_timeout: float | None
    ) -> None:
        self.cluster = cluster
        self.only_breaker: CircuitBreaker | None = None
        self._breaker = breaker
        self._dedicated_timeout = dedicated_timeout
        self._pinned: dict[NodePool, PoolRoute] = {}

    def _node(self, pool: NodePool) -> PoolRoute:
        node = self._pinned.get(pool)
        if node is None:
            endpoint = pool.endpoint
            breaker = self._breaker.for_node(f"{endpoint.host}:{endpoint.port}")
            node = self._pinned[pool] = PoolRoute(pool, breaker, None)
        return node

    def breaker(self, key: str | None) -> CircuitBreaker:
        return self._node(self.cluster.route(key))._breaker

    def send(self, key: str | None, command: Sendable) -> Awaitable[Any]:
        return self.cluster.execute(key, command if isinstance(command, bytes) else encode(command))

    async def settle(self, key: str | None, command: Sendable, error: Exception) -> Any:
        raise error  # the router raises its errors: none comes back as a reply

    def send_many(self, key: str | None, calls: Calls) -> Awaitable[list[Any]]:
        return self.cluster.execute_keyed([(first_key(call), encoded(call)) for call in calls])

    def dedicated(self, key: str | None) -> aioredis.Redis:
        return cast(aioredis.Redis, self.cluster.client_for(key, self._dedicated_timeout))

    def nodes(self) -> Sequence[NodeRoute]:
        return [self._node(pool) for pool in self.cluster.nodes]

    def follow(self) -> None:
        self.cluster.refresh_soon()


def route_for(
    client: aioredis.Redis,
    breaker: CircuitBreaker,
    router: Router | None,
    dedicated_timeout: float | None = None,
) -> NodeRoute:
    """The route of ``router``'s topology (``client`` alone without one); ``dedicated_timeout``
    is the socket timeout of a cluster's per-node redis-py clients."""
    if isinstance(router, ClusterRouter):
        return ClusterRoute(router, breaker, dedicated_timeout)
    if router is not None:
        return PoolRoute(router.route(None), breaker, client)
    return ClientRoute(client, breaker)
