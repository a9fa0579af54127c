"""``GET /metrics``: the manager's metrics in the Prometheus text format, by prometheus-client.

The families are ``jeex_cache.metrics.JeexCollector``'s, the collector any app registers in
its own registry: counters, latency histograms and gauges (circuit, connections, memory, near
cache, the ``METRICS_QUEUES`` task queues), labelled by public operation names only. With
``METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>`` (else 401).
Several processes: see ``jeex_cache.web.multiprocess``.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from jeex_cache.fastapi import manager_of
from jeex_cache.metrics import JeexCollector
from jeex_cache.web.credentials import require_metrics_token

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_metrics_token)],
    summary="Metrics in the Prometheus text format",
)
async def metrics(request: Request) -> Response:
    """Counters, latency histograms and gauges (circuit, connections, memory, queues)."""
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # see jeex_cache.web.multiprocess
    collector = JeexCollector(manager_of(request), operations=not shared)
    await collector.refresh()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    if shared:
        MultiProcessCollector(registry, shared)  # type: ignore[no-untyped-call]  # all processes
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
