"""Traces across the queue: the enqueue's PRODUCER span travels with the task, and the
worker's CONSUMER span links to it (and is its child), so one trace runs from the request
that enqueued to the handler. Payloads never reach a span."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jeex_cache import CacheManager, ManualClock, Settings, TaskContext, TaskStatus, Worker

QUEUE = "traced"
SECRET = "sk_live_payload_secret"


def _traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _named(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [span for span in exporter.get_finished_spans() if span.name == name]
    return span


async def _run_all(cache: CacheManager) -> list[trace.SpanContext]:
    """Run the queue's tasks; the span context each handler ran under."""
    seen: list[trace.SpanContext] = []

    async def job(ctx: TaskContext, payload: Any) -> None:
        seen.append(trace.get_current_span().get_span_context())

    await Worker(cache, QUEUE, {"job": job}, burst=True).run()
    return seen


async def test_the_task_span_links_to_its_enqueue_in_one_trace(
    settings: Settings, clock: ManualClock
) -> None:
    provider, exporter = _traced()
    async with CacheManager(settings, clock=clock, tracer_provider=provider) as cache:
        with provider.get_tracer("app").start_as_current_span(
            "POST /reports", kind=trace.SpanKind.SERVER
        ) as request:
            task_id = await cache.enqueue_task(QUEUE, "job", {"token": SECRET})
        seen = await _run_all(cache)
        task = await cache.get_task_status(task_id)
    assert task is not None
    assert task.status is TaskStatus.SUCCEEDED

    send, process = _named(exporter, f"send {QUEUE}"), _named(exporter, f"process {QUEUE}")
    assert send.kind is trace.SpanKind.PRODUCER
    assert process.kind is trace.SpanKind.CONSUMER
    assert send.context is not None
    assert process.context is not None
    linked = [(link.context.trace_id, link.context.span_id) for link in process.links]
    assert linked == [(send.context.trace_id, send.context.span_id)]
    trace_id = request.get_span_context().trace_id
    assert send.context.trace_id == process.context.trace_id == trace_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id
    assert seen == [process.context]  # the handler runs inside the process span
    assert dict(send.attributes or {}) == {
        "messaging.system": "jeex-cache",
        "messaging.operation.type": "send",
        "messaging.destination.name": QUEUE,
        "messaging.message.id": task_id,
    }
    attributes = dict(process.attributes or {})
    assert attributes["messaging.operation.type"] == "process"
    assert attributes["messaging.destination.name"] == QUEUE
    assert attributes["messaging.message.id"] == task_id
    everything = "\n".join(
        f"{span.name} {dict(span.attributes or {})} {[dict(e.attributes or {}) for e in events]}"
        for span in exporter.get_finished_spans()
        for events in [span.events]
    )
    assert SECRET not in everything


async def test_a_task_stored_without_trace_context_runs_in_a_root_span(
    settings: Settings, clock: ManualClock
) -> None:
    provider, exporter = _traced()
    async with CacheManager(settings, clock=clock, tracer_provider=provider) as cache:
        tracer, cache.runtime.tracer = cache.runtime.tracer, None
        await cache.enqueue_task(QUEUE, "job")  # stored as before tracing: no context
        cache.runtime.tracer = tracer
        seen = await _run_all(cache)
    process = _named(exporter, f"process {QUEUE}")
    assert not process.links
    assert process.parent is None
    assert seen == [process.context]
