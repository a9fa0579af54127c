"""A malformed identifier (an API key with a ``/``, say) never reaches an exception's text,
a span's status or a span's exception event: the caller learns what is wrong, not the value."""

from __future__ import annotations

from uuid import uuid4

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from jeex_cache import CacheManager, InvalidInputError, Settings

SECRET = "sk_live_8f3Kq92/aZ"  # an API key with a '/'
SECRET_PART = "8f3Kq92"


def spans_text(exporter: InMemorySpanExporter) -> str:
    """Everything the finished spans carry: name, attributes, status, events."""
    text = []
    for span in exporter.get_finished_spans():
        text.append(f"{span.name} {dict(span.attributes or {})} {span.status.description}")
        text.extend(f"{event.name} {dict(event.attributes or {})}" for event in span.events)
    return "\n".join(text)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


async def test_a_malformed_rate_limit_identifier_is_never_echoed(
    exporter: InMemorySpanExporter,
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with CacheManager(Settings(redis_url=None), tracer_provider=provider) as cache:
        with pytest.raises(InvalidInputError) as raised:
            await cache.check_rate_limit(SECRET, "api-key")
        with pytest.raises(InvalidInputError) as raised_task:
            await cache.get_task_status(SECRET)
        with pytest.raises(InvalidInputError) as raised_progress:
            await cache.get_progress(SECRET + "\x1b[2J")
    for error in (raised.value, raised_task.value, raised_progress.value):
        assert SECRET_PART not in str(error)
        assert "'/'" in str(error)  # what is wrong, all the same
    [span, *_] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "InvalidIdentifierError"
    [event] = span.events
    assert event.name == "exception"
    assert dict(event.attributes or {}) == {
        "exception.type": "jeex_cache.core.errors.InvalidIdentifierError"
    }
    shown = spans_text(exporter)
    assert SECRET_PART not in shown
    assert "\x1b" not in shown
    assert "(malformed)" in shown  # the declared attribute, without its value


async def test_a_project_id_that_is_no_uuid_is_not_echoed_either() -> None:
    async with CacheManager(Settings(redis_url=None)) as cache:
        with pytest.raises(InvalidInputError) as raised:
            await cache.get_project_data(f"{uuid4()}/{SECRET}")
    assert SECRET_PART not in str(raised.value)
