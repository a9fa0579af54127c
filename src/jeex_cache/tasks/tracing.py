"""Traces across the queue: the enqueue's trace context travels with the task.

When an OpenTelemetry SDK is installed (the manager has a tracer), an enqueue opens a
PRODUCER span ``send <queue>`` and stores its context, as the global propagator writes it
(W3C ``traceparent`` by default), with the task record. The worker opens a CONSUMER span
``process <queue>`` around the handler, linked to that context and, when it runs under no
span of its own, its child: one trace runs from the HTTP request to the task. Both follow
the OpenTelemetry messaging conventions. ``messaging.system`` is ``jeex-cache``: the
conventions name no value for a queue of our own (Lua scripts on a Redis server, or the
in-process backend), and allow a custom one then. Spans carry names and IDs, never payloads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from opentelemetry import propagate, trace

from jeex_cache.tasks.model import Delivery

__all__ = ["MAX_CARRIER", "MESSAGING_SYSTEM", "processing", "sending"]

MESSAGING_SYSTEM = "jeex-cache"
"""``messaging.system`` of the task spans."""

MAX_CARRIER = 1024
"""The most characters of trace context a task keeps; beyond it, only ``traceparent``."""

_PRODUCER = trace.SpanKind.PRODUCER
_CONSUMER = trace.SpanKind.CONSUMER
_UNTRACED: AbstractContextManager[None] = nullcontext()  # reusable: no generator per task


def _attributes(queue: str, task_id: str, operation: str) -> dict[str, str]:
    return {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": operation,
        "messaging.destination.name": queue,
        "messaging.message.id": task_id,
    }


def _failed(span: trace.Span, exc: BaseException) -> None:
    """The error's type only: its text may hold what a span must not."""
    kind = type(exc)
    span.set_status(trace.Status(trace.StatusCode.ERROR, kind.__name__))
    span.add_event("exception", {"exception.type": f"{kind.__module__}.{kind.__qualname__}"})


def _encode(carrier: dict[str, str]) -> str | None:
    if not carrier:
        return None
    text = json.dumps(carrier, separators=(",", ":"))
    if len(text) > MAX_CARRIER:
        parent = carrier.get("traceparent")
        text = json.dumps({"traceparent": parent}) if parent else ""
    return text or None


def _decode(text: str | None) -> dict[str, str]:
    """The carrier a task kept; empty when it has none (an older record) or it is unreadable."""
    if not text:
        return {}
    try:
        carrier = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(carrier, dict):
        return {}
    return {str(key): value for key, value in carrier.items() if isinstance(value, str)}


@contextmanager
def sending(tracer: trace.Tracer | None, queue: str, task_id: str) -> Iterator[str | None]:
    """A PRODUCER span around storing task ``task_id``; yields its context, encoded for the
    task record (None without a tracer)."""
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        f"send {queue}", kind=_PRODUCER, attributes=_attributes(queue, task_id, "send"),
        record_exception=False, set_status_on_exception=False,
    ) as span:  # fmt: skip
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        try:
            yield _encode(carrier)
        except BaseException as exc:
            _failed(span, exc)
            raise


def processing(tracer: trace.Tracer | None, delivery: Delivery) -> AbstractContextManager[None]:
    """A CONSUMER span around running ``delivery``, linked to its enqueue's span (and its
    child when no span is current here); nothing without a tracer."""
    return _UNTRACED if tracer is None else _processing(tracer, delivery)


@contextmanager
def _processing(tracer: trace.Tracer, delivery: Delivery) -> Iterator[None]:
    created = propagate.extract(_decode(delivery.trace))
    origin = trace.get_current_span(created).get_span_context()
    links = [trace.Link(origin)] if origin.is_valid else []
    ambient = trace.get_current_span().get_span_context().is_valid
    attributes: dict[str, str | int] = {
        **_attributes(delivery.queue, delivery.task_id, "process"),
        "task_name": delivery.name,
        "attempt": delivery.attempt,
    }
    with tracer.start_as_current_span(
        f"process {delivery.queue}", context=None if ambient else created, kind=_CONSUMER,
        links=links, attributes=attributes, record_exception=False,
        set_status_on_exception=False,
    ) as span:  # fmt: skip
        try:
            yield
        except BaseException as exc:
            _failed(span, exc)
            raise
