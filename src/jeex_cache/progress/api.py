"""The progress tracking part of ``CacheManager``: the spec's methods and a live event feed.

Progress must never break the operation it reports on: while the backend is down every
update returns an UNAVAILABLE result (logged and counted), ``get_progress`` returns None
(``read_progress`` says FAILED) and ``progress_events`` ends. Refusals (unknown, finished,
backwards, beyond the total) are results too. Only bad input raises (``InvalidInputError``
subclasses), before anything is written.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, TypeAlias
from uuid import UUID

from jeex_cache.core.errors import BackendError
from jeex_cache.core.identifiers import ProjectId, parse_id
from jeex_cache.core.resilience import guarded
from jeex_cache.core.results import ReadResult, failed_read
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.progress.failures import PROGRESS
from jeex_cache.progress.model import UNAVAILABLE, ProgressEvent, ProgressResult
from jeex_cache.progress.rules import MAX_MESSAGE_LENGTH, scoped_correlation_id
from jeex_cache.progress.service import ProgressService

__all__ = ["ProgressAPI"]

# span attributes (see ``guarded``)
_CORRELATION = {"correlation_id": "correlation_id", "project_id": "project_id"}

CorrelationId = UUID | str
Project: TypeAlias = ProjectId | None


def _unavailable() -> ProgressResult:
    return UNAVAILABLE


class ProgressAPI:
    """Step-by-step progress of long-running operations, for polling or streaming (SSE).

    A correlation ID is a UUID or a token of letters, digits and ``_-.@+=`` (up to 128), so a
    task ID works as one. Records and their events expire ``CACHE_PROGRESS_TTL`` after the
    last update; every update is one round trip.
    """

    runtime: OperationRuntime
    _progress: ProgressService  # set by ``CacheManager.initialize()``

    def progress_id(self, correlation_id: CorrelationId, project_id: Project = None) -> str:
        """The ID an operation of ``project_id`` is tracked under: ``@<project>@<id>``,
        or yours unchanged without a project. ``GET /progress/{id}`` takes it, as does
        every call without ``project_id=``. No round trip."""
        owner = None if project_id is None else parse_id(project_id)
        return scoped_correlation_id(correlation_id, owner)

    @guarded(PROGRESS, fallback=_unavailable, attributes=_CORRELATION)
    async def start_progress_tracking(
        self,
        correlation_id: CorrelationId,
        total_steps: int,
        message: str = "",
        *,
        restart: bool = False,
        project_id: ProjectId | None = None,
    ) -> ProgressResult:
        """Track an operation of ``total_steps`` steps, at step 0, owned by ``project_id``.

        The ID is the caller's within ``project_id``'s scope: two projects' equal IDs are
        two operations, and every later call names the project too, or passes the scoped
        ID (``progress_id``, e.g. for ``GET /progress/{id}``).

        An operation already tracked (running or finished) is left alone (``EXISTS``)
        unless ``restart``, which replaces it and starts its event log afresh: a retried
        task may report its new attempt under the same ID. Over HTTP only a session with
        access to the owning project may read the progress; without ``project_id`` a restart
        keeps the owner it had (a task's is the project given at enqueue).
        """
        return await self._progress.start(
            correlation_id, total_steps, message, restart=restart, project_id=project_id
        )

    @guarded(PROGRESS, fallback=_unavailable, attributes=_CORRELATION)
    async def increment_progress(
        self, correlation_id: CorrelationId, message: str = "", *, project_id: Project = None
    ) -> ProgressResult:
        """One step further, with ``message``; ``BEYOND_TOTAL`` past the last step."""
        return await self._progress.increment(correlation_id, message, project_id)

    @guarded(PROGRESS, fallback=_unavailable, attributes=_CORRELATION)
    async def update_progress(
        self,
        correlation_id: CorrelationId,
        step: int,
        message: str = "",
        *,
        project_id: Project = None,
    ) -> ProgressResult:
        """To ``step``: the same step again is accepted, an earlier one is ``BACKWARDS``."""
        return await self._progress.update(correlation_id, step, message, project_id)

    @guarded(PROGRESS, fallback=_unavailable, attributes=_CORRELATION)
    async def complete_progress(
        self, correlation_id: CorrelationId, message: str = "", *, project_id: Project = None
    ) -> ProgressResult:
        """Completed (the step becomes the total); final, like ``fail_progress``."""
        return await self._progress.complete(correlation_id, message, project_id)

    @guarded(PROGRESS, fallback=_unavailable, attributes=_CORRELATION)
    async def fail_progress(
        self,
        correlation_id: CorrelationId,
        error: str | BaseException,
        *,
        project_id: Project = None,
    ) -> ProgressResult:
        """Failed with ``error`` (an exception is shown as ``Type: message``); final."""
        return await self._progress.fail(correlation_id, _error_text(error), project_id)

    @guarded(PROGRESS, attributes=_CORRELATION)
    async def get_progress(
        self, correlation_id: CorrelationId, *, project_id: Project = None
    ) -> dict[str, Any] | None:
        """``percentage``, ``message``, ``current_step``, ``total_steps``, ``status``,
        ``error``, times, ``last_event_id`` and ``project_id`` (the owner, or None); None if
        unknown or expired. ``project_id``: the project in whose scope the ID is (a read
        never reaches another project's operation of the same ID)."""
        progress = await self._progress.get(correlation_id, project_id)
        return None if progress is None else progress.as_dict()

    @guarded(PROGRESS, fallback=failed_read, attributes=_CORRELATION)
    async def read_progress(
        self, correlation_id: CorrelationId, *, project_id: Project = None
    ) -> ReadResult[dict[str, Any]]:
        """``get_progress`` that tells unknown from a backend failure: a ``ReadResult``
        (HIT with the state, MISS, or FAILED)."""
        progress = await self._progress.get(correlation_id, project_id)
        return ReadResult.of(None if progress is None else progress.as_dict())

    def progress_events(
        self,
        correlation_id: CorrelationId,
        after: str | None = None,
        *,
        check_every: float = 5.0,
        project_id: Project = None,
    ) -> AsyncIterator[ProgressEvent]:
        """Every event of the operation after the event ID ``after`` (all kept if None),
        then each new one as it happens, in order; for SSE and other listeners.

        Ends after the completed or failed event, when the operation is unknown or expires,
        or when the backend fails (logged and counted; ``failure_tracker.degraded`` tells).
        An idle listener re-reads the log every ``check_every`` seconds. On Redis, listeners
        share one dedicated connection: they hold no pooled one.
        """
        events = self._progress.events(
            correlation_id, after, check_every=check_every, project=project_id
        )
        return self._guarded_events(events)

    async def _guarded_events(
        self, events: AsyncGenerator[ProgressEvent, None]
    ) -> AsyncIterator[ProgressEvent]:
        tracker = self.runtime.tracker
        try:
            async with aclosing(events):
                async for event in events:
                    yield event
        except BackendError as exc:
            # the failure table's row, applied to a stream
            tracker.failed("progress_events", PROGRESS.name, PROGRESS.why, exc)
        else:
            if tracker.consecutive_failures:
                tracker.succeeded()


def _error_text(error: str | BaseException) -> str:
    if isinstance(error, BaseException):
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return text[:MAX_MESSAGE_LENGTH]
    return error
