"""``GET /metrics`` read back with prometheus-client's own parser, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from jeex_cache import CacheManager, ManualClock, Settings
from jeex_cache.core.telemetry import LATENCY_BUCKETS
from jeex_cache.metrics import public_operation
from jeex_cache.web import create_app
from tests.web._serve import serve
from tests.web.conftest import log_in

QUEUE = "reports"
HISTOGRAM = "jeex_cache_operation_duration_seconds"
Families = dict[str, tuple[str, list[Sample]]]


@pytest.fixture
async def scraped(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The service over the backend under test, showing the depths of ``QUEUE``."""
    tuned = Settings(redis_url=settings.redis_url, metrics_queues=QUEUE)
    async with (
        CacheManager(tuned, clock=clock) as manager,
        serve(create_app(manager=manager)) as client,
    ):
        yield client


async def scrape(client: httpx.AsyncClient) -> Families:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        family.name: (family.type, family.samples)
        for family in text_string_to_metric_families(response.text)
    }


def value(families: Families, family: str, name: str, /, **labels: str) -> float:
    matches = [
        s.value
        for s in families[family][1]
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) == 1, (family, name, labels, families[family][1])
    return matches[0]


async def test_latency_is_a_histogram_per_public_operation(
    scraped: httpx.AsyncClient, backend: str
) -> None:
    project = uuid4()
    await log_in(scraped, project)
    url = f"/projects/{project}/cache"
    assert (await scraped.get(url)).status_code == 404  # a miss
    assert (await scraped.put(url, json={"data": 1})).status_code == 200
    for _ in range(2):
        assert (await scraped.get(url)).status_code == 200  # hits
    assert (await scraped.get("/sessions/me")).status_code == 200
    assert (await scraped.post("/sessions/me/rotate")).status_code == 200
    manager = _manager(scraped)
    assert await manager.get_project_data(project) == 1  # a hit
    assert await manager.get_project_data(uuid4()) is None  # a miss
    families = await scrape(scraped)

    kind, samples = families[HISTOGRAM]
    assert kind == "histogram"
    read = {"operation": "read_project_entry", "family": "cache_read"}
    assert value(families, HISTOGRAM, f"{HISTOGRAM}_count", **read) == 3
    bounds = [
        s.labels["le"]
        for s in samples
        if s.name.endswith("_bucket") and s.labels["operation"] == "read_project_entry"
    ]
    assert [float(b) for b in bounds] == [*LATENCY_BUCKETS, float("inf")]
    assert value(families, HISTOGRAM, f"{HISTOGRAM}_bucket", le="+Inf", **read) == 3
    assert value(families, HISTOGRAM, f"{HISTOGRAM}_sum", **read) > 0
    assert value(families, "jeex_cache_operations", "jeex_cache_operations_total", **read) == 3

    # Labels are public names only; internal helpers count under the operation they serve.
    operations = {s.labels["operation"] for s in families["jeex_cache_operations"][1]}
    assert not [name for name in operations if name.startswith("_")]
    assert {"require_session", "rotate_session"} <= operations
    assert "_authorize" not in str(families)

    # Hits and misses only for reads.
    lookups = families["jeex_cache_lookups"][1]
    assert {s.labels["operation"] for s in lookups} == {"get_project_data"}
    assert value(families, "jeex_cache_lookups", "jeex_cache_lookups_total", result="hit") == 1
    assert value(families, "jeex_cache_lookups", "jeex_cache_lookups_total", result="miss") == 1


async def test_gauges_show_memory_connections_circuit_and_queue_depths(
    scraped: httpx.AsyncClient, backend: str
) -> None:
    manager = _manager(scraped)
    doomed = await manager.enqueue_task(QUEUE, "job", max_attempts=1)
    await manager.enqueue_task(QUEUE, "job")
    claim = await manager.claim_task(QUEUE, "w-1", 30.0)
    assert claim.delivery is not None
    assert claim.delivery.task_id == doomed
    await manager.fail_task(claim.delivery, "boom", 0.0)
    await manager.claim_task(QUEUE, "w-1", 30.0)
    await manager.enqueue_task(QUEUE, "job")
    families = await scrape(scraped)

    depth = "jeex_cache_queue_tasks"
    assert families[depth][0] == "gauge"
    for state, expected in (("pending", 1), ("running", 1), ("dead", 1)):
        assert value(families, depth, depth, queue=QUEUE, state=state) == expected
    assert families["jeex_cache_memory_used_bytes"][0] == "gauge"
    used = value(families, "jeex_cache_memory_used_bytes", "jeex_cache_memory_used_bytes")
    assert "jeex_cache_memory_max_bytes" in families
    if backend == "redis":
        assert used > 0  # INFO memory
        state = "jeex_cache_circuit_state"
        assert value(families, state, state, state="closed") == 1
        assert value(families, state, state, state="open") == 0
        assert "jeex_cache_commands_in_flight" in families
        assert "jeex_cache_commands_in_flight_max" in families


def _manager(client: httpx.AsyncClient) -> CacheManager:
    manager: CacheManager = client._transport.app.state.jeex_manager  # type: ignore[attr-defined]
    return manager


def test_public_operation_names() -> None:
    assert public_operation("get_project_data") == "get_project_data"
    assert public_operation("_authorize") == "require_project_access"
    assert public_operation("_some_new_helper") == "internal"


@pytest.mark.redis_only
async def test_the_near_cache_reports_its_bytes_and_hits(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, near_cache_max_bytes=1_000_000)
    async with (
        CacheManager(settings) as manager,
        serve(create_app(manager=manager)) as client,
    ):
        project = uuid4()
        await manager.cache_project_data(project, {"v": 1})
        for _ in range(400):  # the L1 serves once its tracking connection is up
            await manager.get_project_data(project)
            if manager.near_cache_stats()["hits"]:
                break
            await asyncio.sleep(0.05)
        stats = manager.near_cache_stats()
        families = await scrape(client)
    assert stats["hits"] > 0
    assert value(families, "jeex_cache_near_cache_hits", "jeex_cache_near_cache_hits") >= 1
    held = value(families, "jeex_cache_near_cache_bytes", "jeex_cache_near_cache_bytes")
    assert held == stats["bytes"] > 0
