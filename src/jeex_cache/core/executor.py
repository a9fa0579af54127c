"""The Redis executor: every Redis call of every repository, and error translation.

Every call takes one path (``_call``): admit (the breaker of the call's node), run, translate
transport and driver errors into ``BackendError``, record the outcome. How a command reaches
its node is a ``NodeRoute``'s business (``node_route.py``): redis-py alone, one server's
multiplexed connections, or a cluster's master by slot, with a breaker per master. Commands
that block or change a connection's state (``DEDICATED``: BLPOP, SUBSCRIBE, MULTI...) run on
the node's redis-py client. A call an open breaker refuses, or an outage, asks the route to
follow the topology (a cluster re-reads its slot map, rate-limited), so once a replica is
promoted its slots' calls go to it without waiting for the dead node's cool-down. A script
answered NOSCRIPT (a restarted or flushed server, a promoted replica) is loaded on its node
and sent again once (``_reload``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from jeex_cache.core._calls import (
    DEDICATED,
    backend_error,
    call_name,
    first_key,
    is_noscript,
    outage_reply,
)
from jeex_cache.core.circuit_breaker import CircuitBreaker, CircuitOpenError, CircuitState
from jeex_cache.core.errors import BackendError
from jeex_cache.core.keys import KeySpace
from jeex_cache.core.node_route import ClientRoute, ClusterRoute, NodeRoute, PoolRoute
from jeex_cache.core.replication import DurableWrites, Replication
from jeex_cache.core.scripts import Command, EncodedArg, LuaScript, ScriptCall
from jeex_cache.core.transport import (
    ClusterError,
    ClusterRouter,
    ReplyError,
    Router,
    TransportError,
)

__all__ = ["RedisExecutor"]

P = TypeVar("P")
_FAILURES = (TransportError, ReplyError, RedisError, OSError)
_CLOSED = CircuitState.CLOSED


class RedisExecutor:
    """Runs commands and scripts, reloading scripts on NOSCRIPT and translating errors.

    With a ``router`` (the shared transport) scripts, commands and batches go there, and
    ``client`` serves only the ``DEDICATED`` commands; without one, everything goes to
    ``client`` (a worker's one-connection client for its blocking waits). A circuit breaker
    fails calls fast while Redis is down (on a cluster, one per master); it counts one
    failure per broken connection or failed connect, not one per caller in flight on it.
    """

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
        self._route: NodeRoute
        if self._cluster is not None:
            self._route = ClusterRoute(self._cluster, breaker, dedicated_timeout)
        elif router is not None:
            self._route = PoolRoute(router.route(None), breaker, client)
        else:
            self._route = ClientRoute(client, breaker)
        self._dedicated_max = max_in_flight
        self._incident: object = None

    @property
    def in_flight(self) -> int:
        """Commands sent or queued on the shared connections, not yet answered."""
        if self.router is None:
            return 0
        return sum(node.inflight + node.queued for node in self.router.nodes)

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

    def breaker_for(self, key: str | None) -> CircuitBreaker:
        """The breaker of the node serving ``key``: its master's on a cluster, else the one."""
        return self._route.breaker(key)

    # -- the one call path -----------------------------------------------------------------

    async def _call(
        self,
        route: NodeRoute,
        key: str | None,
        name: str,
        run: Callable[[str | None, P], Awaitable[Any]],
        payload: P,
        decode: Callable[[Any], Any] | None = None,
        script: LuaScript | None = None,
    ) -> Any:
        """Admit (the node's breaker), ``run(key, payload)``, translate, record the outcome;
        ``decode`` the reply. A ``script`` answered NOSCRIPT is loaded and run again once."""
        breaker = route.only_breaker or route.breaker(key)
        if breaker.state is not _CLOSED:
            try:
                breaker.before_call()
            except CircuitOpenError:
                self._route.follow()  # a cluster's slot may have moved to a healthy node
                raise
        try:
            reply = await run(key, payload)
        except _FAILURES as exc:
            if script is None or not is_noscript(exc):
                raise self._failed(exc, name, breaker) from exc
            reply = exc  # the server answered: it is up
        except BaseException:
            breaker.release_probe()
            raise
        if breaker.consecutive_failures or breaker.state is not _CLOSED:
            breaker.record_success()
        if script is not None and isinstance(reply, Exception):  # NOSCRIPT
            await self._reload(route, [(script, key)])
            return await self._call(route, key, name, run, payload, decode)
        return reply if decode is None else decode(reply)

    async def _reload(
        self, route: NodeRoute, missing: Iterable[tuple[LuaScript, str | None]]
    ) -> None:
        """SCRIPT LOAD each (script, key)'s script on the key's node, once per node (a node
        has one breaker): the one place NOSCRIPT is answered."""
        todo = {(script, route.breaker(key)): key for script, key in missing}
        for (script, _), key in todo.items():
            command = ("SCRIPT", "LOAD", script.source)
            await self._call(route, key, "SCRIPT LOAD", route.send, command)

    def _failed(self, exc: BaseException, operation: str, breaker: CircuitBreaker) -> BackendError:
        """Translate ``exc`` and count it: an outage (a lost link, or a reply such as NOAUTH,
        LOADING or OOM that refuses service) is a backend failure; any other error reply
        says the call was wrong, and the server is up."""
        if outage_reply(exc) is None and isinstance(exc, ReplyError | ResponseError):
            breaker.record_success()  # the server answered: it is up
        elif isinstance(exc, ClusterError):  # the cluster answered, settling: no outage
            breaker.release_probe()
        elif (incident := getattr(exc, "incident", None) or exc) is not self._incident:
            self._incident = incident  # one failure per broken link, not per caller on it
            breaker.record_failure()
            self._route.follow()
        else:
            breaker.release_probe()
        return backend_error(operation, exc)

    # -- calls -----------------------------------------------------------------------------

    def script(
        self,
        script: LuaScript,
        keys: Sequence[str],
        args: Sequence[EncodedArg],
        decode: Callable[[Any], Any] | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """EVALSHA ``script``; on NOSCRIPT (a restarted or flushed server) load it, once.

        ``decode``, if given, turns the reply into the result here, so that a caller needs
        no coroutine of its own for it (each nested frame costs on every resumption).
        """
        key = keys[0] if keys else None
        route = self._route
        if script.durable and self._durable is not None:
            call = ScriptCall(script, keys, args)
            return self._call(route, key, script.name, self._durable_send, call, decode, script)
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        return self._call(route, key, script.name, route.send, command, decode, script)

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
            return self._call(route, key, name, self._dedicated_send, args)
        shape = route.shapes.get(name) if isinstance(name, str) else None
        return self._call(route, key, str(name), route.send, args, shape)

    def _dedicated_send(self, key: str | None, command: Command) -> Awaitable[Any]:
        send = cast(Callable[..., Awaitable[Any]], self._route.dedicated(key).execute_command)
        return send(*command)

    def walk_nodes(self) -> list[object]:
        """The nodes a keyspace walk (SCAN) must visit, each for ``command_on``: a cluster's
        masters, the one server otherwise."""
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
            await self._reload(self._route, [(c.script, first_key(c)) for c in missing.values()])
            again = await self._pipeline(list(missing.values()))
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        shapes = self._route.shapes
        for i, result in enumerate(results):
            call = calls[i]
            if isinstance(result, Exception):
                error = backend_error(call_name(call), result)
                if raise_on_error:
                    raise error
                results[i] = error
            elif shapes and not isinstance(call, ScriptCall) and isinstance(call[0], str):
                shape = shapes.get(call[0])
                if shape is not None:
                    results[i] = shape(result)
        return results

    def _pipeline(self, calls: Sequence[ScriptCall | Command]) -> Coroutine[Any, Any, Any]:
        route = self._route  # a cluster's breaker: the first call's node
        return self._call(route, first_key(calls[0]), "pipeline", route.send_many, calls)

    async def load(self, *scripts: LuaScript) -> None:
        """SCRIPT LOAD each script on every node (idempotent)."""
        for script in scripts:
            for node in self._route.nodes():
                await self._command(node, ("SCRIPT", "LOAD", script.source))
