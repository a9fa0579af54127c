"""The nodes of a Redis Cluster as health sees them: each master pinged, the topology read.

Every master of the client's slot map is pinged on its own connections, with the transport's
deadline and without its circuit breaker (health reports what it saw, and a paused node
costs one deadline, not the whole check). ``CLUSTER NODES`` and ``CLUSTER INFO``, asked of the
first master that answered, give roles, slot ranges, replicas and their link state, and
``cluster_state``. ``problems`` names what makes the cluster degraded, node by node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jeex_cache.core.transport import ClusterRouter, NodePool, ReplyError, TransportError, encode

__all__ = ["survey"]

_PING = encode(("PING",))
_NODES = encode(("CLUSTER", "NODES"))
_INFO = encode(("CLUSTER", "INFO"))


async def survey(
    router: ClusterRouter, breakers: Mapping[str, Any], wait_replicas: int
) -> dict[str, Any]:
    """``cluster_state``, ``nodes`` (one entry per node) and ``problems`` (empty: all well).

    ``breakers``: each node's breaker by ``host:port``; ``wait_replicas``: the replicas a
    durable write waits for (``REDIS_WAIT_REPLICAS``), which each master should have.
    """
    masters = list(router.nodes)
    pings = await asyncio.gather(*(_ping(pool) for pool in masters))
    pinged = {_name(pool): latency for pool, latency in zip(masters, pings, strict=True)}
    topology: list[dict[str, Any]] = []
    state = "unknown"
    for pool in masters:
        if pinged[_name(pool)] is None:
            continue
        try:
            topology = _parse_nodes(_text(await pool.execute(_NODES)))
            state = _cluster_state(_text(await pool.execute(_INFO)))
        except (TransportError, ReplyError):
            continue
        break
    nodes = _merge(topology, pinged, breakers)
    return {
        "cluster_state": state,
        "nodes": nodes,
        "reachable_masters": sum(latency is not None for latency in pinged.values()),
        "problems": _problems(nodes, state, wait_replicas),
    }


async def _ping(pool: NodePool) -> float | None:
    started = time.perf_counter()
    try:
        await pool.execute(_PING)
    except (TransportError, ReplyError):
        return None
    return time.perf_counter() - started


def _merge(
    topology: list[dict[str, Any]],
    pinged: Mapping[str, float | None],
    breakers: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The topology's nodes (or, when no node answered, the masters the client knows), each
    with its ping, breaker and, for a master, its replicas."""
    if not topology:
        topology = [
            {
                "address": address,
                "role": "master",
                "flags": [],
                "failed": False,
                "slots": "",
                "link": "unknown",
            }
            for address in pinged
        ]
    by_id = {node["id"]: node for node in topology if "id" in node}
    for node in topology:
        node.setdefault("replicas", [])
    for node in topology:
        master = by_id.get(node.pop("master_id", None) or "")
        if node["role"] == "replica" and master is not None:
            node["master"] = master["address"]
            master["replicas"].append(
                {"address": node["address"], "link": node["link"], "failed": node["failed"]}
            )
    for node in topology:
        node.pop("id", None)
        address = node["address"]
        if address in pinged:
            latency = pinged[address]
            node["reachable"] = latency is not None
            node["ping_ms"] = None if latency is None else round(latency * 1000, 3)
        breaker = breakers.get(address)
        node["breaker"] = breaker.state.value if breaker is not None else "closed"
    return topology


def _problems(nodes: Sequence[dict[str, Any]], state: str, wait_replicas: int) -> list[str]:
    problems = [] if state == "ok" else [f"cluster_state is {state}"]
    for node in nodes:
        address = node["address"]
        if node.get("reachable") is False:
            problems.append(f"{address} ({node['role']}) does not answer")
        elif node.get("failed"):
            problems.append(f"{address} ({node['role']}) is marked failed by the cluster")
        if node["breaker"] != "closed" and node["slots"]:  # a master the client calls
            problems.append(f"{address}: circuit breaker {node['breaker']}")
        if node["role"] == "master" and node["slots"]:
            live = [r for r in node["replicas"] if not r["failed"] and r["link"] == "connected"]
            if len(live) < wait_replicas:
                problems.append(
                    f"{address} has {len(live)} live replicas; REDIS_WAIT_REPLICAS is "
                    f"{wait_replicas} (durable writes to its slots time out)"
                )
    return problems


def _parse_nodes(text: str) -> list[dict[str, Any]]:
    """``CLUSTER NODES``: id, address, flags, master, link state and slots of each node."""
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        flags = [flag for flag in fields[2].split(",") if flag != "myself"]
        nodes.append({
            "id": fields[0],
            "address": fields[1].split("@", 1)[0].split(",", 1)[0],
            "role": "master" if "master" in flags else "replica",
            "flags": flags,
            "failed": "fail" in flags or "fail?" in flags,
            "master_id": fields[3] if fields[3] != "-" else None,
            "link": fields[7],
            "slots": ",".join(slot for slot in fields[8:] if not slot.startswith("[")),
        })  # fmt: skip
    return nodes


def _cluster_state(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _text(reply: Any) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _name(pool: NodePool) -> str:
    return f"{pool.endpoint.host}:{pool.endpoint.port}"
