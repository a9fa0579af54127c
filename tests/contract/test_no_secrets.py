"""No session ID reaches telemetry: every public operation runs under the OpenTelemetry SDK's
in-memory exporters and a DEBUG log capture, on every backend and with Redis down. Then all
that was exported (spans and their events, OTel metrics, log records with every ``extra``
field, ``get_performance_metrics()`` and ``GET /metrics``) is serialized and searched for the
raw IDs."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID, uuid4

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jeex_cache import AccessDenied, BackendError, CacheManager, ManualClock, Settings, outcome_of
from jeex_cache.project_cache.session_view import SessionCacheView, SessionProjectView
from jeex_cache.project_cache.view import ProjectCacheView
from jeex_cache.tasks.model import Delivery
from jeex_cache.testing import RedisServer
from jeex_cache.web import create_app
from tests.web._serve import serve

T = TypeVar("T")

EXERCISED = (CacheManager, SessionCacheView, SessionProjectView, ProjectCacheView)


class Capture(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def capture_logs() -> Iterator[Capture]:
    """Every log record of the process at DEBUG, whichever logger emits it."""
    handler, root = Capture(), logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


class Recorded:
    """``target`` whose public attributes, when used, are noted as ``Class.name``."""

    def __init__(self, target: object, seen: set[str]) -> None:
        self._target = target
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        self._seen.add(f"{type(self._target).__name__}.{name}")
        return getattr(self._target, name)


def public_operations() -> set[str]:
    """The public methods of the manager and of the views it hands out."""
    names: set[str] = set()
    for cls in EXERCISED:
        for name in dir(cls):
            if name.startswith("_"):
                continue
            attribute = inspect.getattr_static(cls, name)
            if callable(attribute) and not isinstance(attribute, property | type):
                names.add(f"{cls.__name__}.{name}")
    return names


@dataclass
class Run:
    """One exercise: the IDs to look for, the operations used, and whether failures are
    expected (the backend is down)."""

    secrets: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    down: bool = False

    async def __call__(self, call: Awaitable[T]) -> T | None:
        try:
            return await call
        except (BackendError, AccessDenied):
            if not self.down:
                raise
            return None


async def exercise(cache: CacheManager, run: Run, kill: Callable[[], None] | None = None) -> str:
    """Call every public operation with real session IDs; return the first one's hash prefix."""
    api: Any = Recorded(cache, run.seen)
    user, project, other = uuid4(), uuid4(), uuid4()
    first = await api.create_user_session(user, {"name": "Ada"}, [project])
    second = await api.create_user_session(user, {}, [project])
    third = await api.create_user_session(user, {}, [project])
    assert first is not None
    assert second is not None
    assert third is not None
    sid, sid2, sid3 = first.session_id, second.session_id, third.session_id
    malformed = sid[:-1] + "!"  # one character off: never logged either
    run.secrets += [sid, sid2, sid3, malformed]
    if kill is not None:
        kill()

    # Sessions.
    await run(api.validate_user_session(sid))
    await run(api.validate_user_session(malformed))
    await run(api.extend_session(sid, 60))
    await run(api.grant_project_access(sid, other))
    await run(api.revoke_project_access(sid, other))
    await run(api.update_session_data(sid, {"theme": "dark"}))
    await run(api.list_user_sessions(user))
    await run(api.require_project_access(sid, project))
    await run(api.has_project_access(sid, uuid4()))
    await run(api.require_session(sid))
    with contextlib.suppress(AccessDenied):
        await run(api.require_session(malformed))

    # Rate limits: a session ID is a natural identifier of a per-session limit.
    await run(api.check_rate_limit(sid, "session"))
    await run(api.check_rate_limit("203.0.113.7", "ip"))
    api.rate_limit_policy()

    # The project cache, directly, through a project view and through the session's views.
    await run(api.cache_project_data(project, {"a": 1}, tags=["t"]))
    await run(api.write_project_data(project, {"a": 2}))
    await run(api.get_project_data(project))
    await run(api.get_project_entry(project))
    await run(api.read_project_data(project))
    await run(api.read_project_entry(project))
    await run(api.list_project_keys(project))
    api.near_cache_stats()
    await run(api.get_many_project_data([project, other]))
    view = Recorded(api.project(project), run.seen)
    async with api.get_connection(project) as connection:
        await run(connection.get("k"))
    await project_view_calls(view, run)
    scoped = Recorded(api.for_session(sid), run.seen)
    await run(scoped.allow(project))
    await run(scoped.cache_project_data(project, {"b": 1}, tags=["t"]))
    await run(scoped.write_project_data(project, {"b": 2}))
    await run(scoped.get_project_data(project))
    await run(scoped.get_project_entry(project))
    await run(scoped.read_project_data(project))
    await run(scoped.read_project_entry(project))
    await run(scoped.list_project_keys(project))
    await run(scoped.invalidate_by_tag("t"))
    with contextlib.suppress(AccessDenied):
        await run(scoped.get_project_data(other))  # not granted: denied and audited
    await project_view_calls(Recorded(scoped.project(project), run.seen), run)
    await run(scoped.invalidate_project_cache(project, "test"))
    await run(scoped.delete_project_data(project))
    await run(api.invalidate_by_tag("t"))
    # Loaders.
    await run(api.get_or_load_project_data(project, _load, 60, stale_ttl=30))
    await run(api.read_or_load_project_data(project, _load, 60))
    await run(api.warm_project_cache([project, other], _load_project, concurrency=2))
    await run(api.invalidate_tag_in_projects("t", [project, other]))
    await run(api.invalidate_project_cache(project))
    await run(api.delete_project_data(project))

    # Progress, under a correlation ID and a task ID.
    correlation, failing = f"op-{uuid4().hex}", f"op-{uuid4().hex}"
    await run(api.start_progress_tracking(correlation, 3, "start"))
    await run(api.increment_progress(correlation, "one"))
    await run(api.update_progress(correlation, 2, "two"))
    await run(api.get_progress(correlation))
    await run(api.read_progress(correlation))
    await run(api.complete_progress(correlation, "done"))
    async for _ in api.progress_events(correlation, check_every=0.05):
        pass
    await run(api.start_progress_tracking(api.progress_id(failing, project), 2))
    await run(api.fail_progress(failing, RuntimeError("boom"), project_id=project))

    # Tasks.
    task_id = await run(api.enqueue_task("emails", "send", {"n": 1}, task_id=f"t-{uuid4().hex}"))
    await run(api.get_task_status(task_id or "t-unknown"))
    await run(api.cancel_task(task_id or "t-unknown"))
    await run(api.wait_for_task(task_id or "t-unknown", timeout=5))  # cancelled: at once
    await run(api.list_dead_tasks("emails"))
    await run(api.requeue_dead_tasks("emails"))
    await run(api.get_queue_stats("emails", 10))
    # A worker's side: claims and settlements (``Worker`` makes these calls).
    await run(api.enqueue_task("emails", "send", {"n": 2}))
    claim = await run(api.claim_task("emails", "w-1", 30.0))
    lost = Delivery(f"t-{uuid4().hex}", "emails", "send", None, 1, 3)  # no lease: superseded
    delivery = lost if claim is None or claim.delivery is None else claim.delivery
    await run(api.extend_tasks("emails", [delivery], 30.0))
    await run(api.release_task(delivery))
    # Tenant pacing: a queue's rate, a project paused by a handler, claims that pace.
    await run(api.set_project_rate("emails", None, 1000.0, 10))
    again = await run(api.claim_task("emails", "w-1", 30.0))
    if again is not None and again.delivery is not None:
        await run(api.release_task(again.delivery, 0.01))
    await run(api.claim_task("emails", "w-1", 30.0))
    await run(api.set_project_rate("emails", None, None))
    await run(api.complete_task(lost, {"ok": True}))
    await run(api.settle_tasks("emails", [(lost, b"1")], "w-1", 30.0, 2))
    await run(api.complete_and_claim_task(lost, None, "w-1", 30.0))
    await run(api.fail_task(lost, "RuntimeError: boom", 0.0))
    waiter = await run(api.open_task_waiter("emails", 0.05))
    if waiter is not None:
        await waiter.close()

    # Rotation and the ends of sessions.
    await run(outcome_of(api.rotate_session, sid3))
    rotated = await run(api.rotate_session(sid2))
    if rotated is not None:
        assert rotated.session_id is not None
        run.secrets.append(rotated.session_id)
        await run(api.revoke_user_session(rotated.session_id, "logout"))
    await run(api.validate_user_session(sid2))  # dead since the rotation
    await run(api.revoke_user_session(sid2, "logout"))
    await run(api.revoke_all_user_sessions(user, "done"))

    # Observability.
    await api.health_check()
    await api.get_performance_metrics()
    await run(api.cleanup_expired_entries())
    await run(cache.initialize())  # a no-op, for the record
    run.seen |= {"CacheManager.initialize", "CacheManager.close"}  # by ``async with``
    fingerprint: str = first.fingerprint
    return fingerprint


async def project_view_calls(view: Any, run: Run) -> None:
    """Every operation of a project view (plain or the session's)."""
    await run(view.set("k", {"v": 1}, tags=["t"]))
    await run(view.get("k"))
    await run(view.get_entry("k"))
    await run(view.keys())
    await run(view.set_many({"m1": 1, "m2": 2}, tags=["t"]))
    await run(view.get_many(["m1", "m2", "k"]))
    await run(view.invalidate_tag("t"))
    await run(view.set("k", {"v": 2}))
    await run(view.delete("k"))
    await run(view.get_or_load("loaded", _load, 60))
    await run(view.read_or_load("loaded", _load, 60))
    await run(view.invalidate("test"))


async def _load() -> dict[str, int]:
    return {"loaded": 1}


async def _load_project(project_id: UUID) -> dict[str, str]:
    return {"project": str(project_id)}


@dataclass
class Exporters:
    """The SDK's in-memory exporters and what the service's ``/metrics`` said."""

    spans: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    metrics: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    scraped: list[str] = field(default_factory=list)

    def manager(self, settings: Settings, clock: ManualClock | None = None) -> CacheManager:
        tracer = TracerProvider()
        tracer.add_span_processor(SimpleSpanProcessor(self.spans))
        meter = MeterProvider(metric_readers=[self.metrics])
        # Every call counts as slow: the slow-call log and examples are searched too.
        slow = settings.model_copy(update={"cache_slow_operation_ms": 0.000001})
        return CacheManager(slow, clock=clock, tracer_provider=tracer, meter_provider=meter)

    async def scrape(self, cache: CacheManager, run: Run) -> None:
        """Use the reference service with a session, then read ``/metrics``."""
        session = await cache.create_user_session(uuid4())
        if session is not None and session.session_id is not None:
            run.secrets.append(session.session_id)
        async with serve(create_app(manager=cache)) as http:
            bearer = {"Authorization": f"Bearer {run.secrets[-1]}"}
            await http.get("/sessions/me", headers=bearer)
            await http.get(f"/projects/{uuid4()}/cache", headers=bearer)
            response = await http.get("/metrics")
            self.scraped.append(response.text)


def exported(
    exporters: Exporters, logs: Capture, metrics: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """Everything that left the library: (where, its whole text), one per span, record or
    report."""
    for span in exporters.spans.get_finished_spans():
        yield f"span {span.name}", span.to_json()
    data = exporters.metrics.get_metrics_data()
    if data is not None:
        yield "OTel metrics", data.to_json()
    formatter = logging.Formatter()
    for record in logs.records:
        parts = [record.getMessage(), repr(vars(record))]
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        yield f"log {record.name}: {record.getMessage()[:80]}", "\n".join(parts)
    yield "get_performance_metrics()", json.dumps(metrics, default=str)
    for text in exporters.scraped:
        yield "GET /metrics", text


def assert_no_secret(
    exporters: Exporters, logs: Capture, metrics: dict[str, Any], run: Run
) -> None:
    """No raw session ID anywhere, and every public operation was called."""
    texts = list(exported(exporters, logs, metrics))
    assert len(texts) > 50
    leaks = sorted({where for where, text in texts for secret in run.secrets if secret in text})
    assert leaks == [], "\n".join(leaks)
    missing = public_operations() - run.seen
    assert not missing, f"add a call of each of {sorted(missing)} to exercise()"


def session_attributes(exporters: Exporters, operation: str) -> list[Any]:
    return [
        (span.attributes or {}).get("session")
        for span in exporters.spans.get_finished_spans()
        if span.name == f"cache_manager.{operation}"
    ]


async def test_no_session_id_in_spans_logs_or_metrics(
    settings: Settings, clock: ManualClock
) -> None:
    exporters, run = Exporters(), Run()
    with capture_logs() as logs:
        async with exporters.manager(settings, clock) as cache:
            fingerprint = await exercise(cache, run)
            metrics = await cache.get_performance_metrics()
            await exporters.scrape(cache, run)
    assert_no_secret(exporters, logs, metrics, run)
    # Not vacuous: spans were exported, name the session by its audit hash prefix, and the
    # audit records reached the capture.
    assert fingerprint in session_attributes(exporters, "validate_user_session")
    assert any(getattr(r, "session", None) == fingerprint for r in logs.records)
    assert any(r.getMessage().startswith("slow cache operation") for r in logs.records)
    assert cache.runtime.tracker.failures == {}


async def test_no_session_id_in_telemetry_while_redis_is_down() -> None:
    exporters, run = Exporters(), Run(down=True)
    with RedisServer.start() as server, capture_logs() as logs:
        settings = Settings(
            redis_url=server.url,
            redis_socket_timeout=0.3,
            redis_connect_timeout=0.3,
            max_retries=1,  # the retry path too
            retry_delay=0.01,
        )
        async with exporters.manager(settings) as cache:
            fingerprint = await exercise(cache, run, kill=server.kill)
            metrics = await cache.get_performance_metrics()
            await exporters.scrape(cache, run)
    assert_no_secret(exporters, logs, metrics, run)
    # The failure paths ran: failures logged and counted, the breaker opened.
    failures = [r for r in logs.records if r.getMessage().startswith("backend failure in")]
    assert {getattr(r, "operation", None) for r in failures} >= {
        "validate_user_session",
        "grant_project_access",
        "revoke_user_session",
        "rotate_session",
        "check_rate_limit",
    }
    assert metrics["failures"]["validate_user_session"] >= 1
    assert metrics["backend"]["circuit"]["opened"] >= 1
    assert fingerprint in session_attributes(exporters, "validate_user_session")


def test_the_list_of_public_operations_is_not_empty() -> None:
    """The list of ``public_operations()`` is not empty: the coverage check can fail."""
    assert {"CacheManager.validate_user_session", "SessionProjectView.get"} <= public_operations()
