"""The Redis executor: every Redis call of every repository, and error translation.

What a call sends is decided here: EVALSHA for a script, a plain command, a pipeline. How it
reaches its node is a ``NodeRoute``'s business (``node_route.py``): redis-py alone, one
server's multiplexed connections, or a cluster's master by slot. Every call then takes one
path (``_call_path.py``): admit (the breaker of its node), run, translate, record. Commands
that block or change a connection's state (``DEDICATED``: BLPOP, SUBSCRIBE, MULTI...) run on
the node's redis-py client; durable scripts (``Replication``) on it too, followed by WAIT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any, cast

import redis.asyncio as aioredis

from jeex_cache.core._call_path import CallPath
from jeex_cache.core._calls import DEDICATED, backend_error, call_name, first_key, is_noscript
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.keys import KeyCache, KeySpace
from jeex_cache.core.node_route import ClientRoute, NodeRoute, PoolRoute, route_for
from jeex_cache.core.replication import DurableWrites, Replication
from jeex_cache.core.scripts import Command, EncodedArg, LuaScript, ScriptCall
from jeex_cache.core.transport import ClusterRouter, Router, encode

__all__ = ["RedisExecutor"]

_ENCODED_KEPT = 10_000  # recurring commands whose encoding is kept (then all are dropped)


class RedisExecutor:
    """Runs commands and scripts on ``router`` (the shared transport; ``client`` then serves
    the ``DEDICATED`` commands), or without one on ``client`` alone (a worker's blocking
    waits). ``breaker`` (on a cluster, one per master) fails calls fast while Redis is down;
    it counts one failure per broken connection or failed connect, not one per caller."""

    def __init__(
        self,
        client: aioredis.Redis,
        namespace: str,
        *,
        breaker: CircuitBreaker,
        router: Router | None = None,
        max_in_flight: int = 1,
        wait_timeout: float = 0.0,  # unused: redis-py's pool has its own (REDIS_POOL_TIMEOUT)
        replication: Replication | None = None,  # WAIT after durable scripts (Cluster, Sentinel)
        dedicated_timeout: float | None = None,  # cluster: the per-node clients' socket timeout
    ) -> None:
        self.client = client
        self.replication = replication
        # Half the dedicated connections at most carry durable batches; the rest stay free.
        lanes = max(1, min(4, (client.connection_pool.max_connections or 8) // 2))
        self._durable = DurableWrites(replication, lanes=lanes) if replication else None
        self.keys = KeySpace(namespace)
        self.breaker = breaker
        self.router = router
        self._cluster = router if isinstance(router, ClusterRouter) else None
        self._route = route_for(client, breaker, router, dedicated_timeout)
        self._dedicated_max = max_in_flight
        self._path = CallPath(self._route)
        self._encoded: KeyCache[Command, bytes] | None = (
            KeyCache(encode, _ENCODED_KEPT) if self._route.takes_encoded else None
        )
        self._send = self._route.send  # bound once: every script and command takes it

    @property
    def in_flight(self) -> int:
        """Commands sent or queued on the shared connections, not yet answered."""
        nodes = self.router.nodes if self.router is not None else ()
        return sum(node.inflight + node.queued for node in nodes)

    @property
    def max_in_flight(self) -> int:
        """Commands the shared connections carry at once before callers queue."""
        if self.router is None:
            return self._dedicated_max
        return sum(node.size * node.limits.max_inflight for node in self.router.nodes)

    @property
    def cluster(self) -> ClusterRouter | None:
        """The cluster router, on a Redis Cluster."""
        return self._cluster

    @property
    def sharded(self) -> bool:
        """On a cluster: pub/sub is sharded (SPUBLISH/SSUBSCRIBE), keys routed by slot."""
        return self._cluster is not None

    def dedicated_client(self, key: str | None) -> aioredis.Redis:
        """The redis-py client (dedicated connections) of the node serving ``key``; on a
        standalone server ``client``. For blocking and pub/sub commands."""
        return self._route.dedicated(key)

    # -- calls -----------------------------------------------------------------------------

    def script(
        self,
        script: LuaScript,
        keys: Sequence[str],
        args: Sequence[EncodedArg],
        decode: Callable[[Any], Any] | None = None,
        *,
        recurring: bool = False,
    ) -> Coroutine[Any, Any, Any]:
        """EVALSHA ``script``; on NOSCRIPT (a restarted or flushed server) load it, once.

        ``decode``, if given, turns the reply (not a nil one: None stays None) into the
        result here, so that a caller needs no coroutine of its own for it (each nested frame
        costs on every resumption).
        ``recurring``: the same keys and arguments come back again and again (a project's
        read, a session's validation), so the encoded command is kept (bounded) and reused.
        """
        key, route, name = keys[0] if keys else None, self._route, script.name
        if script.durable and self._durable is not None:
            call = ScriptCall(script, keys, args)
            return self._path.call(route, key, name, self._durable_send, call, decode, script)
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        encoded = self._encoded
        if recurring and encoded is not None:
            data = encoded[command]
            return self._path.call(route, key, name, self._send, data, decode, script)
        return self._path.call(route, key, name, self._send, command, decode, script)

    def _durable_send(self, key: str | None, call: ScriptCall) -> Awaitable[Any]:
        assert self._durable is not None
        return self._durable.run(self._route.dedicated(key), call.script, call.keys, call.args)

    def command(self, *args: EncodedArg) -> Coroutine[Any, Any, Any]:
        """Run one plain command (a ``DEDICATED`` one on a redis-py connection)."""
        return self._command(self._route, args)

    def _command(self, route: NodeRoute, args: Command) -> Coroutine[Any, Any, Any]:
        name = args[0]
        key = args[1] if len(args) > 1 and isinstance(args[1], str) else None
        if isinstance(name, str) and name.upper() in DEDICATED:
            return self._path.call(route, key, name, self._dedicated_send, args)
        shape = route.shapes.get(name) if isinstance(name, str) else None
        return self._path.call(route, key, str(name), route.send, args, shape)

    def _dedicated_send(self, key: str | None, command: Command) -> Awaitable[Any]:
        send = cast(Callable[..., Awaitable[Any]], self._route.dedicated(key).execute_command)
        return send(*command)

    def walk_nodes(self) -> list[object]:
        """The nodes a keyspace walk (SCAN) visits with ``command_on``: each master, or the one."""
        return list(self._route.nodes())

    def command_on(self, node: object, *args: EncodedArg) -> Coroutine[Any, Any, Any]:
        """Run one plain command on ``node`` (one of ``walk_nodes``; None: anywhere)."""
        route: NodeRoute = node if isinstance(node, ClientRoute | PoolRoute) else self._route
        return self._command(route, args)

    async def scripts_pipelined(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Sequence[EncodedArg]]]
    ) -> list[Any]:
        """Run ``script`` once per (keys, args) in one pipelined round trip."""
        return await self.batch([ScriptCall(script, keys, args) for keys, args in calls])

    async def batch(
        self, calls: Sequence[ScriptCall | Command], *, raise_on_error: bool = True
    ) -> list[Any]:
        """Run scripts and plain commands in one pipelined round trip, in order.

        Calls answered NOSCRIPT (a restarted server) are run again after one SCRIPT LOAD;
        the others are not repeated. A failed call raises ``BackendError``, or with
        ``raise_on_error=False`` stands in the results as one (the others' results kept).
        """
        if not calls:
            return []
        results: list[Any] = await self._pipeline(calls)
        missing = {
            i: call
            for i, (call, result) in enumerate(zip(calls, results, strict=True))
            if isinstance(call, ScriptCall) and is_noscript(result)
        }
        if missing:
            loads = [(call.script, first_key(call)) for call in missing.values()]
            again = partial(self._pipeline, list(missing.values()))
            retried = await self._path.reloaded(self._route, loads, again)
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        shapes = self._route.shapes
        for i, result in enumerate(results):
            call = calls[i]
            if isinstance(result, Exception):
                results[i] = error = backend_error(call_name(call), result)
                if raise_on_error:
                    raise error
            elif shapes and not isinstance(call, ScriptCall) and isinstance(call[0], str):
                shape = shapes.get(call[0])
                if shape is not None:
                    results[i] = shape(result)
        return results

    def _pipeline(self, calls: Sequence[ScriptCall | Command]) -> Coroutine[Any, Any, list[Any]]:
        route = self._route  # a cluster's breaker: the first call's node
        return self._path.call(route, first_key(calls[0]), "pipeline", route.send_many, calls)

    async def load(self, *scripts: LuaScript) -> None:
        """SCRIPT LOAD each script on every node (idempotent)."""
        for script in scripts:
            for node in self._route.nodes():
                await self._command(node, ("SCRIPT", "LOAD", script.source))
