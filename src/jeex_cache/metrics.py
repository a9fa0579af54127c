"""``JeexCollector``: the manager's metrics in any prometheus-client registry (``[prometheus]``).

    registry = CollectorRegistry()  # or prometheus_client.REGISTRY
    collector = JeexCollector(manager)
    registry.register(collector)
    ...
    await collector.refresh()  # before a scrape: the backend's memory and queue depths

- counters: calls, backend failures and slow calls per operation; hits and misses only for
  the reads that count them;
- a histogram of latency per operation (100 µs to 5 s);
- gauges: circuit state, in-flight commands, the near cache's sizes, the embedded backend's
  entries; after ``refresh()``, the backend's memory, the ``METRICS_QUEUES`` depths and
  ``jeex_cache_up`` per node (a cluster's every node, else the one backend);
- on a cluster: each master's breaker state, and the router's slot-map refreshes, map
  changes (failovers, migrations) and redirects.

A gauge whose read failed stays, with the value NaN, and ``jeex_cache_refresh_failed``
(by ``source``) says which read failed: a dashboard shows the outage, not a gap.

Labels carry public operation names only (``public_operation``), never a key or session.
A collector cannot await: what needs a round trip to the backend is gathered by ``refresh``
and shown until the next one.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator, Mapping
from typing import Any

from jeex_cache.extras import require_extra

require_extra("prometheus", "jeex_cache.metrics")

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from jeex_cache.core.errors import BackendError
from jeex_cache.manager import CacheManager

__all__ = ["PUBLIC_NAMES", "JeexCollector", "merged_operations", "public_operation"]

PUBLIC_NAMES: Mapping[str, str] = {
    "_authorize": "require_project_access",
    "_session_or_denial": "require_session",
}
"""Internal helpers that are measured, by the public operation they serve."""

_CIRCUIT_STATES = ("closed", "open", "half_open")
_NAN = float("nan")


class JeexCollector(Collector):
    """The metrics of ``manager``, for ``registry.register(JeexCollector(manager))``.

    ``operations=False`` leaves out the per-operation families (when the multi-process
    files of ``PROMETHEUS_MULTIPROC_DIR`` hold them).
    """

    def __init__(self, manager: CacheManager, *, operations: bool = True) -> None:
        self.manager = manager
        self.operations = operations
        self.memory: dict[str, Any] | None = None
        self.queues: list[dict[str, Any]] = []
        self.up: dict[str, bool] = {}
        self.failed: dict[str, bool] = {}

    async def refresh(self) -> None:
        """Read what needs the backend: its memory, the queues' depths, each node's state (a
        read that fails shows as NaN and ``jeex_cache_refresh_failed``; the scrape succeeds)."""
        manager = self.manager
        health = manager.health_service
        failed: dict[str, bool] = {}
        try:
            self.memory = await health.get_memory_usage()
            failed["memory"] = False
        except BackendError:
            self.memory = {"used": _NAN, "max": _NAN}
            failed["memory"] = True
        queues = []
        for queue in manager.settings.metrics_queue_names:
            try:
                stats = await manager.get_queue_stats(queue)
            except BackendError:
                failed[f"queue:{queue}"] = True
                queues.append({"queue": queue, "pending": _NAN, "running": _NAN, "dead": _NAN})
                continue
            failed[f"queue:{queue}"] = False
            queues.append({"queue": queue, "pending": stats.pending, "running": stats.running,
                           "dead": stats.dead})  # fmt: skip
        self.queues = queues
        self.failed = failed
        self.up = _up(await health.nodes(), manager.backend_name, not failed["memory"])

    def collect(self) -> Iterator[Metric]:
        metrics = _at_once(self.manager.get_performance_metrics())
        if self.operations:
            yield from _operations(metrics.get("operations", {}))
        yield from _backend(metrics.get("backend", {}), self.memory)
        yield from _nodes(metrics.get("backend", {}), self.up, self.failed)
        yield from _near_cache(self.manager.near_cache_stats())
        yield from _queues(self.queues)


def _up(cluster: dict[str, Any] | None, backend: str, answered: bool) -> dict[str, bool]:
    """Node -> answers: a cluster's masters as pinged, its replicas as the cluster sees
    them; one backend by whether its memory read answered."""
    if cluster is None:
        return {backend: answered}
    up = {}
    for node in cluster["nodes"]:
        if "reachable" in node:
            up[node["address"]] = bool(node["reachable"])
        else:
            up[node["address"]] = not node["failed"] and node["link"] == "connected"
    return up


def _nodes(
    backend: dict[str, Any], up: dict[str, bool], failed: dict[str, bool]
) -> Iterator[Metric]:
    if up:
        gauge = GaugeMetricFamily("jeex_cache_up", "1 while the node answers.", labels=["node"])
        for node, answers in sorted(up.items()):
            gauge.add_metric([node], int(answers))
        yield gauge
    if failed:
        gauge = GaugeMetricFamily(
            "jeex_cache_refresh_failed", "1 when the last read of a source failed.",
            labels=["source"],
        )  # fmt: skip
        for source, failure in sorted(failed.items()):
            gauge.add_metric([source], int(failure))
        yield gauge
    nodes = backend.get("circuit", {}).get("nodes")
    if nodes:
        state = GaugeMetricFamily(
            "jeex_cache_node_circuit_state", "1 for each master's breaker state.",
            labels=["node", "state"],
        )  # fmt: skip
        opened = CounterMetricFamily(
            "jeex_cache_node_circuit_opened", "Times each master's breaker opened.",
            labels=["node"],
        )  # fmt: skip
        for node, circuit in nodes.items():
            for name in _CIRCUIT_STATES:
                state.add_metric([node, name], int(circuit["state"] == name))
            opened.add_metric([node], circuit["opened"])
        yield from (state, opened)
    cluster = backend.get("cluster")
    if cluster is not None:
        yield CounterMetricFamily(
            "jeex_cache_cluster_refreshes", "Slot-map refreshes.", value=cluster["refreshes"]
        )
        yield CounterMetricFamily(
            "jeex_cache_cluster_map_changes",
            "Refreshes that moved slots to another node (failovers, migrations).",
            value=cluster["map_changes"],
        )
        redirects = CounterMetricFamily(
            "jeex_cache_cluster_redirects", "Redirect replies followed, by kind.",
            labels=["kind"],
        )  # fmt: skip
        for kind in ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"):
            redirects.add_metric([kind], cluster["redirects"].get(kind, 0))
        yield redirects


def _at_once(call: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The value of a coroutine that never waits (``get_performance_metrics`` reads memory
    only): a collector runs in no event loop."""
    try:
        call.send(None)
    except StopIteration as done:
        value: dict[str, Any] = done.value
        return value
    call.close()
    raise RuntimeError("get_performance_metrics waited: it cannot run inside a collector")


def public_operation(name: str) -> str:
    """The label of an operation: its public name; an unknown private helper is ``internal``."""
    if not name.startswith("_"):
        return name
    return PUBLIC_NAMES.get(name, "internal")


def merged_operations(operations: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Operations by public label (two helpers of one operation add up)."""
    merged: dict[str, dict[str, Any]] = {}
    for name, stats in operations.items():
        label = public_operation(name)
        into = merged.get(label)
        if into is None:
            histogram = {**stats["histogram"], "counts": list(stats["histogram"]["counts"])}
            merged[label] = {**stats, "histogram": histogram}
            continue
        for field in ("count", "errors", "hits", "misses", "slow"):
            into[field] += stats[field]
        into["histogram"]["sum"] += stats["histogram"]["sum"]
        counts = into["histogram"]["counts"]
        for i, n in enumerate(stats["histogram"]["counts"]):
            counts[i] += n
    return merged


def _operations(operations: dict[str, dict[str, Any]]) -> Iterator[Metric]:
    labels = ["operation", "family"]
    calls = CounterMetricFamily("jeex_cache_operations", "Calls by operation.", labels=labels)
    errors = CounterMetricFamily(
        "jeex_cache_operation_errors", "Calls that ended in a backend failure.", labels=labels
    )
    slow = CounterMetricFamily(
        "jeex_cache_slow_operations", "Calls over CACHE_SLOW_OPERATION_THRESHOLD.", labels=labels
    )
    lookups = CounterMetricFamily(
        "jeex_cache_lookups", "Cache reads by result (hit or miss).", labels=[*labels, "result"]
    )
    latency = HistogramMetricFamily(
        "jeex_cache_operation_duration_seconds", "Latency of calls by operation.", labels=labels
    )
    for name, stats in sorted(merged_operations(operations).items()):
        values = [name, stats["family"]]
        calls.add_metric(values, stats["count"])
        errors.add_metric(values, stats["errors"])
        slow.add_metric(values, stats["slow"])
        if stats["hits"] or stats["misses"]:  # a read that counts them: nothing else
            lookups.add_metric([*values, "hit"], stats["hits"])
            lookups.add_metric([*values, "miss"], stats["misses"])
        histogram = stats["histogram"]
        buckets, running = [], 0
        for bound, count in zip([*histogram["bounds"], "+Inf"], histogram["counts"], strict=True):
            running += count
            buckets.append((str(bound), running))
        latency.add_metric(values, buckets, histogram["sum"])
    yield from (calls, errors, slow, lookups, latency)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def _backend(backend: dict[str, Any], memory: dict[str, Any] | None) -> Iterator[Metric]:
    circuit = backend.get("circuit")
    if circuit is not None:
        state = GaugeMetricFamily(
            "jeex_cache_circuit_state", "1 for the breaker's current state.", labels=["state"]
        )
        for name in _CIRCUIT_STATES:
            state.add_metric([name], int(circuit["state"] == name))
        yield state
        yield CounterMetricFamily(
            "jeex_cache_circuit_opened", "Times the breaker opened.", value=circuit["opened"]
        )
    pool = backend.get("pool")
    if pool is not None:
        yield _gauge(
            "jeex_cache_commands_in_flight", "Commands sent or queued, unanswered.", pool["in_use"]
        )
        yield _gauge(
            "jeex_cache_commands_in_flight_max", "The connections' in-flight bound.", pool["max"]
        )
    if memory is not None:
        yield _gauge("jeex_cache_memory_used_bytes", "The backend's memory in use.", memory["used"])
        yield _gauge(
            "jeex_cache_memory_max_bytes", "The backend's memory bound (0: none).", memory["max"]
        )
    embedded = backend.get("memory")
    if embedded is not None:
        yield _gauge(
            "jeex_cache_memory_entries", "Entries the embedded backend holds.", embedded["entries"]
        )
        yield CounterMetricFamily(
            "jeex_cache_memory_evictions",
            "Entries evicted to stay within the bound.",
            value=embedded["evictions"],
        )
        yield CounterMetricFamily(
            "jeex_cache_memory_refusals",
            "Writes refused at the bound: nothing evictable was left.",
            value=embedded.get("refusals", 0),
        )
    connections = backend.get("connections")
    if isinstance(connections, int | float):
        yield _gauge("jeex_cache_connections", "Open connections to the backend.", connections)


def _near_cache(near: Any) -> Iterator[Metric]:
    """The near cache's numeric fields (bytes, entries...) when the metrics report one."""
    if not isinstance(near, dict):
        return
    for field, value in sorted(near.items()):
        if isinstance(value, int | float) and not isinstance(value, bool) and field.isidentifier():
            yield _gauge(f"jeex_cache_near_cache_{field}", f"The near cache's {field}.", value)


def _queues(queues: list[dict[str, Any]]) -> Iterator[Metric]:
    if not queues:
        return
    depth = GaugeMetricFamily(
        "jeex_cache_queue_tasks", "Tasks in a queue by state.", labels=["queue", "state"]
    )
    for stats in queues:
        for state in ("pending", "running", "dead"):
            depth.add_metric([stats["queue"], state], stats[state])
    yield depth
