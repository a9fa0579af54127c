"""Health rules: how ping, memory, the circuit breaker and error rates make a status.

The Redis backend's report has a ``redis`` section (reachable, ping); the embedded backend's
has none: its ``memory`` is its budget's bytes (all of its state) against
``CACHE_MEMORY_MAX_BYTES``.

``healthy``: Redis answers, the breaker is closed, errors are rare and memory has room.
``degraded``: it answers, but the breaker is probing, recent calls failed more than
``DEGRADED_ERROR_RATE`` of the time, or Redis's memory is over ``MEMORY_WARNING_PERCENT``.
A full embedded backend is not degraded: evicting the least recently used is how its bound
works.
``unhealthy``: it does not answer, or the breaker is open.

On a cluster the report has ``cluster`` (``cluster_state``, ``problems``) and ``nodes`` (each
node: address, role, slots, ping, replicas and their links, breaker; ``nodes.survey``).
``degraded`` when any problem is found: a master that does not answer or is marked failed,
one with fewer live replicas than ``REDIS_WAIT_REPLICAS``, a master's breaker not closed,
``cluster_state`` not ok; ``unhealthy`` only when no master answers (no call can succeed).

``durability`` says what a restart of the server would keep (``DURABILITY_LEVELS``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from jeex_cache.core.errors import BackendError

__all__ = [
    "CacheHealthRepository",
    "CacheHealthService",
    "DEGRADED_ERROR_RATE",
    "DURABILITY_LEVELS",
    "MEMORY_WARNING_PERCENT",
    "durability_of",
]


DEGRADED_ERROR_RATE = 0.05


MEMORY_WARNING_PERCENT = 90.0


StatusProbe = Callable[[], dict[str, Any]]

DURABILITY_LEVELS = ("none", "unknown", "snapshot", "aof")
"""What survives a restart of the server, weakest first: nothing (no persistence, or the
in-process backend); unknown (the server would not say: ``CONFIG`` denied or renamed);
the last RDB snapshot (``save``); every write, give or take a second (``appendonly yes``)."""


def durability_of(appendonly: str | None, save: str | None) -> str:
    """The level a server's ``appendonly`` and ``save`` settings give (None: unreadable)."""
    if appendonly == "yes":
        return "aof"
    if appendonly is None or save is None:
        return "unknown"
    return "snapshot" if save.strip() else "none"


class CacheHealthService:
    """Health probes of the backend; never raises for a backend failure.

    ``status_probe`` reports what the application layer knows without a round trip: the
    circuit state, pool use and recent error rate.
    """

    def __init__(
        self, repository: CacheHealthRepository, backend_name: str, status_probe: StatusProbe
    ) -> None:
        self._repository = repository
        self._backend_name = backend_name
        self._status_probe = status_probe
        self._has_server = backend_name != "memory"  # the embedded backend has no server

    async def get_memory_usage(self) -> dict[str, Any]:
        """``used`` and ``max`` bytes and ``usage_percentage`` (0 when unbounded), with what
        else the backend counts (the embedded one: ``entries`` and ``evictions``)."""
        info = await self._repository.memory_info()
        used, maximum = int(info["used"]), int(info["max"])
        percentage = round(100.0 * used / maximum, 2) if maximum else 0.0
        return {**info, "used": used, "max": maximum, "usage_percentage": percentage}

    async def nodes(self) -> dict[str, Any] | None:
        """A cluster's ``cluster_state``, ``nodes``, ``reachable_masters`` and ``problems``;
        None for a backend of one node. Never raises."""
        return await self._repository.nodes()

    async def durability(self) -> str:
        """``none``, ``snapshot``, ``aof`` or ``unknown`` (``DURABILITY_LEVELS``): what of the
        backend's state would survive a restart of its server. Never raises."""
        try:
            return await self._repository.durability()
        except BackendError:
            return "unknown"

    async def check(self) -> dict[str, Any]:
        """``status`` with the evidence: ping latency, memory, circuit, pool, error rate."""
        report: dict[str, Any] = {"backend": self._backend_name, "checked_at": time.time()}
        report.update(self._status_probe())
        cluster = await self._repository.nodes()
        if cluster is not None:
            report["nodes"] = cluster.pop("nodes")
            report["cluster"] = cluster
        try:
            if cluster is not None and not cluster["reachable_masters"]:
                raise BackendError("no cluster master answers")
            latency = await self._repository.ping()
            report["memory"] = await self.get_memory_usage()
        except BackendError as exc:
            report.update(status="unhealthy", error=str(exc))
            if self._has_server:
                report["redis"] = {"reachable": False}
            return report
        report["durability"] = await self.durability()
        report["latency_ms"] = round(latency * 1000, 3)
        if self._has_server:
            report["redis"] = {"reachable": True, "ping_ms": report["latency_ms"]}
        report["status"] = _status(report, memory_counts=self._has_server)
        return report


def _status(report: dict[str, Any], *, memory_counts: bool) -> str:
    circuit = report.get("circuit", {}).get("state", "closed")
    if circuit == "open":
        return "unhealthy"
    if (
        circuit == "half_open"
        or report.get("cluster", {}).get("problems")
        or report.get("error_rate", 0.0) > DEGRADED_ERROR_RATE
        or (memory_counts and report["memory"]["usage_percentage"] > MEMORY_WARNING_PERCENT)
    ):
        return "degraded"
    return "healthy"


class CacheHealthRepository(Protocol):
    """What health monitoring asks of a backend."""

    async def ping(self) -> float:
        """Round-trip time of a no-op, in seconds."""
        ...

    async def memory_info(self) -> dict[str, Any]:
        """``used`` and ``max`` in bytes (``max`` 0 when unbounded)."""
        ...

    async def durability(self) -> str:
        """One of ``DURABILITY_LEVELS``: the weakest of the servers holding the state."""
        ...

    async def nodes(self) -> dict[str, Any] | None:
        """A cluster's ``cluster_state``, ``nodes``, ``reachable_masters`` and ``problems``
        (``nodes.survey``); None for a backend of one node."""
        ...
