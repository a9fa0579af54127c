"""``CacheHealthRepository`` on Redis: PING round trip, INFO memory, persistence and, on a
cluster, every node (``nodes.survey``)."""

from __future__ import annotations

import time
from typing import Any

from jeex_cache.core.errors import BackendError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.transport import NodePool
from jeex_cache.observability.health import DURABILITY_LEVELS, durability_of
from jeex_cache.observability.nodes import survey

__all__ = ["RedisHealthRepository"]


class RedisHealthRepository:
    """Health probes against the Redis server."""

    def __init__(self, executor: RedisExecutor) -> None:
        self._redis = executor
        self._unanswered: set[str] = set()  # masters the last survey found silent: asked last

    async def ping(self) -> float:
        """One server's round trip; a cluster's first master that answers."""
        started = time.perf_counter()
        await self._first_answer("PING")
        return time.perf_counter() - started

    async def memory_info(self) -> dict[str, Any]:
        """One server's memory; a cluster's first master that answers."""
        info = await self._first_answer("INFO", "memory")
        return {"used": int(info.get("used_memory", 0)), "max": int(info.get("maxmemory", 0))}

    async def _first_answer(self, *command: str) -> Any:
        """The reply of the first node (``walk_nodes``) that answers ``command``."""
        failure: BackendError | None = None
        nodes = self._redis.walk_nodes()
        for node in sorted(nodes, key=lambda node: _address(node) in self._unanswered):
            try:
                return await self._redis.command_on(node, *command)
            except BackendError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def nodes(self) -> dict[str, Any] | None:
        """On a cluster, each node's health (``nodes.survey``); None on one server."""
        cluster = self._redis.cluster
        if cluster is None:
            return None
        replication = self._redis.replication
        wait = replication.replicas if replication is not None else 0
        found = await survey(cluster, self._redis.breaker.nodes, wait)
        self._unanswered = {n["address"] for n in found["nodes"] if n.get("reachable") is False}
        return found

    async def durability(self) -> str:
        """The weakest persistence of the masters (one server, or each cluster master)."""
        levels = [await self._node_durability(node) for node in self._redis.walk_nodes()]
        return min(levels, key=DURABILITY_LEVELS.index, default="unknown")

    async def _node_durability(self, node: object) -> str:
        # INFO persistence first: it is readable where CONFIG is denied (an ACL) or renamed.
        info = await self._redis.command_on(node, "INFO", "persistence")
        if isinstance(info, dict) and str(info.get("aof_enabled")) == "1":
            return "aof"
        try:
            reply = await self._redis.command_on(node, "CONFIG", "GET", "save")
        except BackendError as exc:
            if exc.transient:
                raise
            return "unknown"
        return durability_of("no", _config_value(reply))


def _address(node: object) -> str:
    return f"{node.endpoint.host}:{node.endpoint.port}" if isinstance(node, NodePool) else ""


def _config_value(reply: Any) -> str | None:
    """The value of a one-setting ``CONFIG GET`` reply (a pair list, or a RESP3 map)."""
    if isinstance(reply, dict):
        values = list(reply.values())
    elif isinstance(reply, list):
        values = reply[1::2]
    else:
        return None
    if not values:
        return None
    value = values[0]
    return value.decode() if isinstance(value, bytes) else str(value)
