"""The one path of every Redis call: admit, run, translate, record; and NOSCRIPT's answer.

Admit: the breaker of the call's node (``NodeRoute.breaker``) lets it through, or refuses it
at once (``CircuitOpenError``). Run: ``run(key, payload)``, the route's way to the node. Translate:
transport and driver errors become ``BackendError`` (``backend_error``). Record: an outage
counts once per broken link, not once per caller on it; an error reply says the server is up.
A call an open breaker refuses, or an outage, asks the route to follow the topology (a cluster
re-reads its slot map, rate-limited), so once a replica is promoted its slots' calls go to it
without waiting for the dead node's cool-down. A script answered NOSCRIPT (a restarted or
flushed server, a promoted replica: SCRIPT LOAD is not replicated) is loaded on its node and
sent again, once (``reloaded``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeVar, cast

from redis.exceptions import RedisError, ResponseError

from jeex_cache.core._calls import backend_error, is_noscript, outage_reply
from jeex_cache.core.circuit_breaker import CircuitBreaker, CircuitOpenError, CircuitState
from jeex_cache.core.errors import BackendError
from jeex_cache.core.node_route import NodeRoute, Sendable
from jeex_cache.core.scripts import LuaScript
from jeex_cache.core.transport import ClusterError, ReplyError, TransportError

__all__ = ["CallPath"]

P = TypeVar("P")
T = TypeVar("T")
_FAILURES = (TransportError, ReplyError, RedisError, OSError)
_CLOSED = CircuitState.CLOSED


class CallPath:
    """Runs calls over ``route`` (the topology's) or one of its ``nodes()``."""

    def __init__(self, route: NodeRoute) -> None:
        self._follow = route.follow  # the whole topology's, even for a call on one node
        self._incident: object = None

    async def call(
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
        ``decode`` the reply (a nil reply is None as it is). A ``script`` answered NOSCRIPT
        is loaded and run again once."""
        breaker = route.only_breaker or route.breaker(key)
        if breaker.state is not _CLOSED:
            try:
                breaker.before_call()
            except CircuitOpenError:
                self._follow()  # a cluster's slot may have moved to a healthy node
                raise
        try:
            reply = await run(key, payload)
            if isinstance(reply, Exception):  # a pool's error, handed back as the reply
                reply = await route.settle(key, cast(Sendable, payload), reply)
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
            again = partial(self.call, route, key, name, run, payload, decode)  # once only
            return await self.reloaded(route, [(script, key)], again)
        return reply if decode is None or reply is None else decode(reply)

    async def reloaded(
        self,
        route: NodeRoute,
        missing: Iterable[tuple[LuaScript, str | None]],
        again: Callable[[], Awaitable[T]],
    ) -> T:
        """The one answer to NOSCRIPT: SCRIPT LOAD each (script, key)'s script on the key's
        node, once per node (a node has one breaker), then ``again``: the calls sent again."""
        todo = {(script, route.breaker(key)): key for script, key in missing}
        for (script, _), key in todo.items():
            command = ("SCRIPT", "LOAD", script.source)
            await self.call(route, key, "SCRIPT LOAD", route.send, command)
        return await again()

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
            self._follow()
        else:
            breaker.release_probe()
        return backend_error(operation, exc)
