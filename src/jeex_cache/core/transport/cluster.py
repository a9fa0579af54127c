"""``ClusterRouter``: Redis Cluster over the multiplexed transport, one ``NodePool`` per node.

The slot map (slot -> master) comes from ``CLUSTER SLOTS``, asked of any known node (seeds,
masters, replicas). A command goes to the owner of its first key's slot. Redirects:

- ``MOVED``: the slot's owner changed; the slot is updated at once, the command sent to the new
  owner, and a refresh of the whole map is scheduled (a failover moves many slots);
- ``ASK``: the slot is migrating; ``ASKING`` and the command go pipelined on one connection
  of the target node, once, and the map is left alone;
- ``TRYAGAIN`` / ``CLUSTERDOWN``: a short backoff, then again, within the command deadline.

At most ``MAX_REDIRECTS`` MOVED/ASK per command, and TRYAGAIN/CLUSTERDOWN only within the
deadline; then ``ClusterError`` (transient, as a lost connection is, but no outage: the
executor's breaker does not count it). A lost connection also schedules a refresh, as does
a call an open breaker refused (the executor's). Refreshes are rate-limited: a storm of
errors costs one ``CLUSTER SLOTS`` per ``refresh_interval``, the last trigger always served.
A refresh asks the nodes that have not failed first (a paused node would hold it up to the
deadline), the suspects last. A change of the map is logged: which node took which slots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from jeex_cache.core.transport.connection import Limits
from jeex_cache.core.transport.errors import ClusterError, ReplyError, TransportError
from jeex_cache.core.transport.pool import NodePool
from jeex_cache.core.transport.protocol import encode
from jeex_cache.core.transport.router import key_slot
from jeex_cache.core.transport.url import Endpoint

__all__ = ["MAX_REDIRECTS", "ClusterRouter"]

logger = logging.getLogger("jeex_cache.transport")

MAX_REDIRECTS = 5
SLOTS = 16384
_ASKING = encode(("ASKING",))
_CLUSTER_SLOTS = encode(("CLUSTER", "SLOTS"))
_REDIRECTS = frozenset({"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"})

Address = tuple[str, int]
# (host, port, socket timeout or None for the default) -> a redis-py client of that node
ClientFactory = Callable[[str, int, float | None], Any]


class ClusterRouter:
    """Routes by slot to per-node pools; see the module docstring."""

    def __init__(
        self,
        seeds: Sequence[Endpoint],
        *,
        size: int = 2,
        limits: Limits | None = None,
        refresh_interval: float = 0.2,
        client_factory: ClientFactory | None = None,
    ) -> None:
        if not seeds:
            raise ValueError("a cluster needs at least one seed node")
        self._template = seeds[0]
        self._seeds: tuple[Address, ...] = tuple((seed.host, seed.port) for seed in seeds)
        self._size = size
        self.limits = limits or Limits()
        self._interval = refresh_interval
        self._client_factory = client_factory
        self._pools: dict[Address, NodePool] = {}
        self._slots: list[NodePool | None] = [None] * SLOTS
        self._masters: tuple[NodePool, ...] = ()
        self._replicas: tuple[Address, ...] = ()
        self._clients: dict[tuple[Address, float | None], Any] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._last_refresh = float("-inf")
        self._closed = False
        self._suspects: set[Address] = set()  # nodes a link failed to: asked last
        self.refreshes = 0  # completed CLUSTER SLOTS refreshes (for tests and metrics)
        self.redirects: Counter[str] = Counter()  # MOVED, ASK, TRYAGAIN... replies seen
        self.map_changes = 0  # refreshes that moved slots to another node (failovers...)
        self.incidents: deque[dict[str, Any]] = deque(maxlen=20)  # the last map changes

    # -- the Router protocol ---------------------------------------------------------------

    @property
    def nodes(self) -> Sequence[NodePool]:
        """The masters (a seed until the map is known)."""
        return self._masters or (self._pool(self._seeds[0]),)

    def route(self, key: str | bytes | None) -> NodePool:
        if key is not None:
            pool = self._slots[key_slot(key)]
            if pool is not None:
                return pool
        return self._masters[0] if self._masters else self._pool(self._seeds[0])

    async def open(self) -> None:
        """Read the slot map and connect to every master (failures tolerated)."""
        await self._refresh()
        await asyncio.gather(*(pool.open() for pool in self.nodes), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            await asyncio.gather(self._refresh_task, return_exceptions=True)
        pools, self._pools, self._masters = list(self._pools.values()), {}, ()
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)

    # -- commands --------------------------------------------------------------------------

    async def execute(self, key: str | bytes | None, data: bytes) -> Any:
        """Send one encoded command to the owner of ``key``, following redirects."""
        pool = self.route(key)
        try:
            return await pool.execute(data)
        except ReplyError as exc:
            if exc.code not in _REDIRECTS:
                raise
            return await self._redirected(key, data, exc, pool)
        except TransportError:
            self.refresh_soon(pool)
            raise

    async def execute_keyed(self, calls: Sequence[tuple[str | bytes | None, bytes]]) -> list[Any]:
        """Pipeline ``(key, encoded command)`` calls: one pipeline per node, concurrently;
        replies in the calls' order (``ReplyError`` in place). A redirected call is sent
        again on its own; a failed link raises its ``TransportError``."""
        groups: dict[NodePool, list[int]] = {}
        for index, (key, _) in enumerate(calls):
            groups.setdefault(self.route(key), []).append(index)
        results: list[Any] = [None] * len(calls)
        outcomes = await asyncio.gather(
            *(self._pipeline(pool, [calls[i][1] for i in group]) for pool, group in groups.items()),
            return_exceptions=True,
        )
        for (pool, indexes), outcome in zip(groups.items(), outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if isinstance(outcome, TransportError):
                    self.refresh_soon(pool)
                raise outcome
            for index, reply in zip(indexes, outcome, strict=True):
                results[index] = reply
        redirected = [
            i for i, r in enumerate(results) if isinstance(r, ReplyError) and r.code in _REDIRECTS
        ]
        if redirected:
            again = await asyncio.gather(
                *(self._redirected(*calls[i], results[i], self.route(calls[i][0]))
                  for i in redirected),
                return_exceptions=True,
            )  # fmt: skip
            for index, reply in zip(redirected, again, strict=True):
                if isinstance(reply, BaseException) and not isinstance(reply, ReplyError):
                    raise reply
                results[index] = reply
        return results

    async def _pipeline(self, pool: NodePool, commands: list[bytes]) -> list[Any]:
        return await pool.execute_many(b"".join(commands), len(commands))

    async def _redirected(
        self, key: str | bytes | None, data: bytes, error: ReplyError, pool: NodePool
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.deadline
        delay, redirects = 0.005, 0
        while redirects < MAX_REDIRECTS:
            asking = False
            code = error.code
            self.redirects[code] += 1
            if code in ("MOVED", "ASK"):
                redirects += 1
            if code == "MOVED":
                slot, target = _redirect(error, pool)
                pool = self._slots[slot] = self._pool(target)
                self.refresh_soon()
            elif code == "ASK":
                pool, asking = self._pool(_redirect(error, pool)[1]), True
            else:  # TRYAGAIN, CLUSTERDOWN: a migration or failover settling
                self.refresh_soon()
                if loop.time() + delay > deadline:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
                pool = self.route(key)
            try:
                if not asking:
                    return await pool.execute(data)
                reply = (await pool.execute_many(_ASKING + data, 2))[1]
                if isinstance(reply, ReplyError):
                    raise reply
                return reply
            except ReplyError as exc:
                if exc.code not in _REDIRECTS:
                    raise
                error = exc
            except TransportError:
                self.refresh_soon(pool)
                raise
        raise ClusterError(f"the cluster did not settle in time: {error.code}")

    # -- dedicated connections -------------------------------------------------------------

    def client_for(self, key: str | bytes | None, socket_timeout: float | None = None) -> Any:
        """The redis-py client (dedicated connections) of the node serving ``key``; one per
        node and ``socket_timeout`` (blocking waits need a longer one than the default)."""
        if self._client_factory is None:
            raise RuntimeError("this cluster router has no client factory")
        endpoint = self.route(key).endpoint
        address = (endpoint.host, endpoint.port)
        client = self._clients.get((address, socket_timeout))
        if client is None:
            client = self._client_factory(*address, socket_timeout)
            self._clients[(address, socket_timeout)] = client
        return client

    # -- the slot map ----------------------------------------------------------------------

    def owner(self, slot: int) -> Address | None:
        """The address of the master that serves ``slot``, as last seen."""
        pool = self._slots[slot]
        return None if pool is None else (pool.endpoint.host, pool.endpoint.port)

    def refresh_soon(self, suspect: NodePool | None = None) -> None:
        """Schedule a slot-map refresh, at most one per ``refresh_interval``; ``suspect``,
        a node that just failed, is asked last."""
        if suspect is not None:
            self._suspects.add((suspect.endpoint.host, suspect.endpoint.port))
        if self._closed or (self._refresh_task is not None and not self._refresh_task.done()):
            return
        loop = asyncio.get_running_loop()
        wait = max(0.0, self._last_refresh + self._interval - loop.time())
        self._refresh_task = loop.create_task(self._refresh(wait))

    async def _refresh(self, wait: float = 0.0) -> None:
        if wait:
            await asyncio.sleep(wait)
        self._last_refresh = asyncio.get_running_loop().time()
        candidates = list(dict.fromkeys(
            [*((p.endpoint.host, p.endpoint.port) for p in self._masters), *self._replicas,
             *self._seeds]
        ))  # fmt: skip
        candidates.sort(key=lambda address: address in self._suspects)  # stable: suspects last
        for address in candidates:
            try:
                reply = await self._pool(address).execute(_CLUSTER_SLOTS)
            except (TransportError, ReplyError) as exc:
                logger.debug("CLUSTER SLOTS failed on %s:%s: %s", *address, exc)
                continue
            self._suspects.discard(address)
            self._install(reply, address)
            self.refreshes += 1
            return
        logger.warning("no cluster node answered CLUSTER SLOTS; keeping the old slot map")

    def _install(self, reply: list[Any], asked: Address) -> None:
        slots: list[NodePool | None] = [None] * SLOTS
        masters: dict[Address, NodePool] = {}
        replicas: list[Address] = []
        for start, end, master, *others in reply:
            owner = _address(master, asked)
            pool = masters.get(owner) or masters.setdefault(owner, self._pool(owner))
            slots[start : end + 1] = [pool] * (end + 1 - start)
            replicas.extend(_address(node, asked) for node in others)
        moves = _log_changes(self._slots, slots) if self._masters else []
        if moves:
            self.map_changes += 1
            self.incidents.extend(moves)
        self._slots = slots
        self._masters = tuple(masters[address] for address in sorted(masters))
        self._replicas = tuple(dict.fromkeys(replicas))

    def _pool(self, address: Address) -> NodePool:
        pool = self._pools.get(address)
        if pool is None:
            host, port = address
            server = host if self._template.ssl is not None else None
            endpoint = replace(self._template, host=host, port=port, server_hostname=server)
            pool = self._pools[address] = NodePool(endpoint, size=self._size, limits=self.limits)
        return pool


def _log_changes(old: list[NodePool | None], new: list[NodePool | None]) -> list[dict[str, Any]]:
    """One warning per node that took slots: which slots, from which node; those moves as
    incidents (``at``, ``node``, ``event`` ``took_slots``, ``slots``, ``from``)."""
    moved: dict[tuple[str, str], list[int]] = {}
    for slot, (was, now) in enumerate(zip(old, new, strict=True)):
        if was is not now:
            moved.setdefault((_name(was), _name(now)), []).append(slot)
    for (before, after), slots in moved.items():
        logger.warning(
            "cluster slot map changed: %s took %d slots (%s) from %s",
            after, len(slots), _ranges(slots), before,
            extra={"node": after, "previous_node": before, "slots": len(slots)},
        )  # fmt: skip
    at = time.time()
    return [
        {"at": at, "node": after, "event": "took_slots", "slots": _ranges(slots), "from": before}
        for (before, after), slots in moved.items()
    ]


def _name(pool: NodePool | None) -> str:
    return "nobody" if pool is None else f"{pool.endpoint.host}:{pool.endpoint.port}"


def _ranges(slots: list[int]) -> str:
    """``0-5460,5462``: sorted slots as ranges."""
    parts: list[str] = []
    start = previous = slots[0]
    for slot in [*slots[1:], -1]:
        if slot != previous + 1:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = slot
        previous = slot
    return ",".join(parts)


def _address(node: list[Any], asked: Address) -> Address:
    host = node[0].decode() if isinstance(node[0], bytes) else str(node[0])
    return (host or asked[0], int(node[1]))


def _redirect(error: ReplyError, pool: NodePool) -> tuple[int, Address]:
    """``MOVED|ASK <slot> <host>:<port>``: the slot and the target (an empty host: the same
    host as the node that answered)."""
    _, slot, target = str(error).split(" ", 2)
    host, _, port = target.strip().rpartition(":")
    return int(slot), (host.strip("[]") or pool.endpoint.host, int(port))
