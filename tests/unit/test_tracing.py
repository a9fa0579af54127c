"""OpenTelemetry: spans and metrics with the SDK's in-memory exporters; nothing without."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

from jeex_cache import CacheManager, Settings
from jeex_cache.core.resilience import guarded
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.project_cache.failures import CACHE_READ
from jeex_cache.sessions.failures import SESSION


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


def recording(
    provider: TracerProvider | None = None,
) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = provider or TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_each_operation_declares_its_own_span_attributes() -> None:
    provider, exporter = recording()
    project = uuid4()
    async with CacheManager(Settings(redis_url=None), tracer_provider=provider) as cache:
        session = await cache.create_user_session(uuid4(), {}, [project])
        assert session is not None
        assert session.session_id is not None
        await cache.validate_user_session(session.session_id)
        await cache.grant_project_access(session.session_id, project)
        await cache.check_rate_limit(session.session_id, "session")
        await cache.start_progress_tracking("op-1", 2)
        await cache.enqueue_task("emails", "send", {"to": "ada"}, task_id="t-1")
        await cache.project(project).get("report")
    spans = {
        span.name.removeprefix("cache_manager."): span for span in exporter.get_finished_spans()
    }
    base = {"operation", "family", "outcome"}

    def own(operation: str) -> dict[str, Any]:
        attributes = dict(spans[operation].attributes or {})
        assert base <= set(attributes)
        return {name: value for name, value in attributes.items() if name not in base}

    fingerprint = session.fingerprint
    assert own("validate_user_session") == {"session": fingerprint}
    assert own("grant_project_access") == {"session": fingerprint, "project_id": str(project)}
    assert own("check_rate_limit") == {"scope": "session"}  # never the identifier
    assert own("start_progress_tracking") == {"correlation_id": "op-1"}
    assert own("enqueue_task") == {"queue": "emails", "task_name": "send", "task_id": "t-1"}
    assert own("get") == {"project_id": str(project), "entry": "report", "cache_hit": False}


def test_a_declaration_that_would_export_a_session_id_is_refused() -> None:
    async def operation(self: Any, session_id: str, project_id: str) -> None: ...

    with pytest.raises(ValueError, match="hash prefix"):
        guarded(SESSION, attributes={"project_id": "session_id"})(operation)
    with pytest.raises(ValueError, match="hash prefix"):
        guarded(SESSION, attributes={"session": "project_id"})(operation)
    with pytest.raises(ValueError, match="hash prefix"):
        guarded(SESSION, attributes={"owner": "self._session_id"})(operation)
    with pytest.raises(ValueError, match="no parameter"):
        guarded(SESSION, attributes={"user_id": "user_id"})(operation)


class Probe:
    """A guarded object whose declared attribute counts its reads."""

    def __init__(self, runtime: OperationRuntime) -> None:
        self.runtime = runtime
        self.reads = 0

    @property
    def project_id(self) -> str:
        self.reads += 1
        return "p"

    @guarded(CACHE_READ, attributes={"project_id": "self.project_id"})
    async def get(self) -> None:
        return None


@pytest.mark.parametrize(("sampler", "reads"), [(ALWAYS_OFF, 0), (ALWAYS_ON, 1)])
async def test_attributes_are_computed_only_for_a_recording_span(
    sampler: Sampler, reads: int
) -> None:
    provider, exporter = recording(TracerProvider(sampler=sampler))
    runtime = OperationRuntime()
    runtime.configure(RetryPolicy(), 10, 10.0, tracer_provider=provider)
    probe = Probe(runtime)
    await probe.get()
    assert probe.reads == reads
    assert len(exporter.get_finished_spans()) == reads
