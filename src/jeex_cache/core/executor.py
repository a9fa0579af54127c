"""The Redis executor: commands and scripts on the shared transport, and error translation.

Every Redis call of every repository goes through ``RedisExecutor``, which is therefore the
one place where transport and driver errors become ``BackendError``. Scripts, commands and
batches run on our multiplexed transport (``jeex_cache.core.transport``): a few connections
shared by every caller. Commands that block or change a connection's state (BLPOP, SUBSCRIBE,
MULTI, SELECT...) never go there: they run on redis-py, on a bounded pool of dedicated
connections (``REDIS_MAX_CONNECTIONS``), as does an executor built without a transport.

On a cluster (a ``ClusterRouter``) every call goes to the node of its first key (a script's
``keys[0]``, a command's ``args[1]``), redirects followed by the router; a batch is one
pipeline per node, and dedicated commands use that node's own redis-py client. Each master
has its own circuit breaker (``CircuitBreaker.for_node``): a dead master fails fast, the
others' calls go through. A call its node's open breaker refuses asks the router for a fresh
slot map (rate-limited), so once a replica is promoted the slots' calls go to it, under its
own closed breaker, without waiting for the dead node's cool-down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from jeex_cache.core._calls import (
    DEDICATED,
    call_name,
    command_of,
    encoded,
    first_key,
    is_noscript,
    outage_reply,
)
from jeex_cache.core._replies import shape
from jeex_cache.core.circuit_breaker import CircuitBreaker, CircuitOpenError, CircuitState
from jeex_cache.core.errors import BackendError
from jeex_cache.core.keys import KeySpace
from jeex_cache.core.replication import DurableWrites, Replication
from jeex_cache.core.scripts import Command, EncodedArg, LuaScript, ScriptCall
from jeex_cache.core.transport import (
    RETRYABLE_REPLIES,
    ClusterError,
    ClusterRouter,
    NodePool,
    ReplyError,
    Router,
    TransportError,
    encode,
)

__all__ = ["RedisExecutor"]


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
        self._node = router.route(None) if router is not None and self._cluster is None else None
        self._execute = cast(Callable[..., Awaitable[Any]], client.execute_command)
        self._dedicated_max = max_in_flight
        self._dedicated_timeout = dedicated_timeout
        self._incident: object = None
        self._node_breakers: dict[NodePool, CircuitBreaker] = {}

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

    def _node_for(self, key: str | None) -> NodePool:
        assert self.router is not None
        return self._node if self._node is not None else self.router.route(key)

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
        if self._cluster is None:
            return self.client
        return cast(aioredis.Redis, self._cluster.client_for(key, self._dedicated_timeout))

    # -- breaker bookkeeping ---------------------------------------------------------------

    def breaker_for(self, key: str | None) -> CircuitBreaker:
        """The breaker of the node serving ``key``: its master's on a cluster, else the one."""
        if self._cluster is None:
            return self.breaker
        return self._breaker_of(self._cluster.route(key))

    def _breaker_of(self, node: NodePool) -> CircuitBreaker:
        if self._cluster is None:
            return self.breaker
        breaker = self._node_breakers.get(node)
        if breaker is None:
            endpoint = node.endpoint
            breaker = self.breaker.for_node(f"{endpoint.host}:{endpoint.port}")
            self._node_breakers[node] = breaker
        return breaker

    def _admit(self, breaker: CircuitBreaker) -> None:
        if breaker.state is not CircuitState.CLOSED:
            try:
                breaker.before_call()
            except CircuitOpenError:
                if self._cluster is not None:  # follow the cluster: the slot may have moved
                    self._cluster.refresh_soon()
                raise

    @staticmethod
    def _succeeded(breaker: CircuitBreaker) -> None:
        if breaker.consecutive_failures or breaker.state is not CircuitState.CLOSED:
            breaker.record_success()

    def _failed(self, exc: BaseException, operation: str, breaker: CircuitBreaker) -> BackendError:
        """Translate ``exc`` and count it: an outage (a lost link, or a reply such as NOAUTH,
        LOADING or OOM that refuses service) is a backend failure; any other error reply
        says the call was wrong, and the server is up."""
        outage = outage_reply(exc)
        if outage is None and isinstance(exc, ReplyError | ResponseError):
            breaker.record_success()  # the server answered: it is up
            return BackendError(f"redis {operation} failed: {exc}", transient=False)
        if isinstance(exc, ClusterError):  # the cluster answered, settling: retry, no outage
            breaker.release_probe()
            return BackendError(f"redis {operation} failed: {exc}")
        incident = getattr(exc, "incident", None) or exc
        if incident is not self._incident:
            self._incident = incident
            breaker.record_failure()
            if self._cluster is not None:
                self._cluster.refresh_soon()
        else:
            breaker.release_probe()
        if outage is not None:
            return BackendError(
                f"redis {operation} failed: {exc}", transient=outage in RETRYABLE_REPLIES
            )
        return BackendError(f"redis {operation} failed: {type(exc).__name__}: {exc}")

    # -- calls -----------------------------------------------------------------------------

    async def script(
        self,
        script: LuaScript,
        keys: Sequence[str],
        args: Sequence[EncodedArg],
        decode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """EVALSHA ``script``; on NOSCRIPT (a restarted or flushed server) EVAL it once.

        ``decode``, if given, turns the reply into the result here, so that a caller needs
        no coroutine of its own for it (each nested frame costs on every resumption).
        """
        key = keys[0] if keys else None
        breaker = self.breaker_for(key)
        self._admit(breaker)
        try:
            if script.durable and self._durable is not None:
                client = self.dedicated_client(key)
                reply = await self._durable.run(client, script, keys, args)
            elif self.router is None:
                reply = await self._dedicated_script(script, keys, args)
            elif (cluster := self._cluster) is not None:
                try:
                    reply = await cluster.execute(
                        key, encode(("EVALSHA", script.sha, len(keys), *keys, *args))
                    )
                except ReplyError as exc:
                    if not exc.is_noscript:  # a promoted replica: SCRIPT LOAD is not replicated
                        raise
                    data = encode(("EVAL", script.source, len(keys), *keys, *args))
                    reply = await cluster.execute(key, data)
            else:
                node = self._node_for(key)
                try:
                    reply = await node.execute(
                        encode(("EVALSHA", script.sha, len(keys), *keys, *args))
                    )
                except ReplyError as exc:
                    if not exc.is_noscript:
                        raise
                    reply = await node.execute(
                        encode(("EVAL", script.source, len(keys), *keys, *args))
                    )
        except (TransportError, ReplyError, RedisError, OSError) as exc:
            raise self._failed(exc, script.name, breaker) from exc
        except BaseException:
            breaker.release_probe()
            raise
        self._succeeded(breaker)
        return reply if decode is None else decode(reply)

    async def _dedicated_script(
        self, script: LuaScript, keys: Sequence[str], args: Sequence[EncodedArg]
    ) -> Any:
        try:
            return await self._execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self._execute("EVAL", script.source, len(keys), *keys, *args)

    async def command(self, *args: EncodedArg) -> Any:
        """Run one plain command (a ``DEDICATED`` one on a redis-py connection)."""
        name = args[0]
        key = args[1] if len(args) > 1 and isinstance(args[1], str) else None
        breaker = self.breaker_for(key)
        self._admit(breaker)
        try:
            if self.router is None or (isinstance(name, str) and name.upper() in DEDICATED):
                if self._cluster is None:
                    reply = await self._execute(*args)
                else:
                    client = self.dedicated_client(key)
                    reply = await cast(Callable[..., Awaitable[Any]], client.execute_command)(*args)
            elif self._cluster is not None:
                reply = shape(name, await self._cluster.execute(key, encode(args)))
            else:
                reply = shape(name, await self._node_for(key).execute(encode(args)))
        except (TransportError, ReplyError, RedisError, OSError) as exc:
            raise self._failed(exc, str(name), breaker) from exc
        except BaseException:
            breaker.release_probe()
            raise
        self._succeeded(breaker)
        return reply

    def walk_nodes(self) -> list[object]:
        """The nodes a keyspace walk (SCAN) must visit, each for ``command_on``: a cluster's
        masters, the one server otherwise."""
        return list(self.router.nodes) if self.router is not None else [None]

    async def command_on(self, node: object, *args: EncodedArg) -> Any:
        """Run one plain command on ``node`` (one of ``walk_nodes``; None: anywhere)."""
        if not isinstance(node, NodePool):
            return await self.command(*args)
        breaker = self._breaker_of(node)
        self._admit(breaker)
        try:
            reply = shape(args[0], await node.execute(encode(args)))
        except (TransportError, ReplyError) as exc:
            raise self._failed(exc, str(args[0]), breaker) from exc
        except BaseException:
            breaker.release_probe()
            raise
        self._succeeded(breaker)
        return reply

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
        results = await self._pipeline(calls)
        missing = [i for i, result in enumerate(results) if is_noscript(result)]
        if missing:
            await self.load(*{cast(ScriptCall, calls[i]).script for i in missing})
            retried = await self._pipeline([calls[i] for i in missing])
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        for i, result in enumerate(results):
            call = calls[i]
            if isinstance(result, Exception):
                code = outage_reply(result)
                error = BackendError(
                    f"redis {call_name(call)} failed: {result}",
                    transient=code in RETRYABLE_REPLIES
                    or (code is None and not isinstance(result, ReplyError | ResponseError)),
                )
                if raise_on_error:
                    raise error
                results[i] = error
            elif self.router is not None and not isinstance(call, ScriptCall):
                results[i] = shape(call[0], result)
        return results

    async def _pipeline(self, calls: Sequence[ScriptCall | Command]) -> list[Any]:
        breaker = self.breaker_for(first_key(calls[0]))  # a cluster's: the first call's node
        self._admit(breaker)
        try:
            if self.router is None:
                results = await self._dedicated_pipeline(calls)
            elif self._cluster is not None:
                keyed = [(first_key(call), encoded(call)) for call in calls]
                results = await self._cluster.execute_keyed(keyed)
            else:
                first = calls[0]
                key = first.keys[0] if isinstance(first, ScriptCall) and first.keys else None
                data = b"".join(encoded(call) for call in calls)
                results = await self._node_for(key).execute_many(data, len(calls))
        except (TransportError, ReplyError, RedisError, OSError) as exc:
            raise self._failed(exc, "pipeline", breaker) from exc
        except BaseException:
            breaker.release_probe()
            raise
        self._succeeded(breaker)
        return results

    async def _dedicated_pipeline(self, calls: Sequence[ScriptCall | Command]) -> list[Any]:
        async with self.client.pipeline(transaction=False) as pipe:
            queue = cast(Callable[..., object], pipe.execute_command)
            for call in calls:
                queue(*command_of(call))
            return list(await pipe.execute(raise_on_error=False))

    async def load(self, *scripts: LuaScript) -> None:
        """SCRIPT LOAD each script on every node (idempotent)."""
        nodes = self.router.nodes if self.router is not None else ()
        for script in scripts:
            if self.router is None:
                await self.command("SCRIPT", "LOAD", script.source)
                continue
            for node in nodes:
                breaker = self._breaker_of(node)
                self._admit(breaker)
                try:
                    await node.execute(encode(("SCRIPT", "LOAD", script.source)))
                except (TransportError, ReplyError) as exc:
                    raise self._failed(exc, "SCRIPT LOAD", breaker) from exc
                except BaseException:
                    breaker.release_probe()
                    raise
                self._succeeded(breaker)
