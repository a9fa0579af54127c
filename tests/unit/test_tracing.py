"""OpenTelemetry: spans and metrics with the SDK's in-memory exporters; nothing without."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jeex_cache import CacheManager, Settings


async def test_spans_carry_the_spec_attributes() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    project = uuid4()
    async with CacheManager(Settings(redis_url=None), tracer_provider=provider) as cache:
        await cache.cache_project_data(project, {"a": 1})
        await cache.get_project_data(project)
        await cache.get_project_data(uuid4())
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == [
        "cache_manager.cache_project_data",
        "cache_manager.get_project_data",
        "cache_manager.get_project_data",
    ]
    hit, miss = spans[1].attributes, spans[2].attributes
    assert hit is not None
    assert miss is not None
    assert hit["project_id"] == str(project)
    assert (hit["cache_hit"], hit["outcome"]) == (True, "hit")
    assert (miss["cache_hit"], miss["outcome"]) == (False, "miss")
    assert hit["operation"] == "get_project_data"


async def test_metrics_count_calls_by_outcome() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    async with CacheManager(Settings(redis_url=None), meter_provider=provider) as cache:
        for _ in range(3):
            await cache.get_project_data(uuid4())
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    points: list[Any] = list(metrics["jeex_cache.operations"].data.data_points)
    assert sum(int(point.value) for point in points) == 3
    assert "jeex_cache.operation.duration" in metrics


async def test_without_an_sdk_no_tracer_is_used() -> None:
    async with CacheManager(Settings(redis_url=None)) as cache:
        assert cache.runtime.tracer is None
        assert cache.runtime.instruments is None
