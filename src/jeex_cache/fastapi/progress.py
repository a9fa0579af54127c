"""``progress_stream``: a tracked operation's events as Server-Sent Events, in your own route.

    @app.get("/projects/{project_id}/jobs/{job_id}/events")
    async def job_events(job_id: str, session: ProjectSession, request: Request) -> Response:
        return await progress_stream(manager, job_id, request, allow=session.can_access)

Each event is ``id:`` (its event ID), ``event:`` (started, progress, completed or failed) and
``data:`` (one line of JSON, ``ProgressEvent.as_dict()``); a ``: keep-alive`` comment follows
``CACHE_PROGRESS_KEEPALIVE`` seconds of silence, and the stream ends after the completed or
failed event. A client that reconnects with ``Last-Event-ID`` (``EventSource`` does it by
itself) gets exactly the events after that one; once it has seen the last event of a
finished operation the answer is 204, which tells ``EventSource`` to stop. A client that
leaves is noticed and its subscription released.

Who may read is your app's decision: ``allow`` receives the project that owns the operation
(None when no project does). An unknown ID and one ``allow`` refuses get the same 404, so
IDs cannot be probed; a backend outage is the same 503 for every ID.

Give the reader's ``session`` and an open stream keeps asking whether it may still read: it
re-checks the session's access to the owning project every keep-alive, and at once when this
process revokes or rotates the session or removes the project from it
(``jeex_cache.fastapi.progress_access``). Once access has ended the stream's last event is
``event: closed`` with ``data: {"reason": ..., "detail": ...}``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from jeex_cache import ProgressEvent, UserSession
from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.fastapi.problems import Problem
from jeex_cache.fastapi.progress_access import AccessEnded, while_allowed
from jeex_cache.manager import CacheManager

__all__ = ["progress_not_found", "progress_stream", "server_sent"]

RETRY_MS = 1_000  # how long an EventSource waits before it reconnects
SEND_TIMEOUT = 30.0  # a client that reads nothing this long is dropped
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_SEP = "\n"


def progress_not_found(correlation_id: str) -> Problem:
    """The one 404 of an operation the caller may not read, or that does not exist."""
    return Problem(404, f"no operation {correlation_id} is tracked that you may read")


async def progress_stream(
    manager: CacheManager,
    correlation_id: str,
    request: Request,
    *,
    allow: Callable[[CanonicalId], bool] | None = None,
    allow_unowned: bool = False,
    session: UserSession | None = None,
    after: str | None = None,
) -> Response:
    """The operation's events after ``Last-Event-ID`` (all if none), then each new one live.

    ``allow(project_id)`` says whether the caller may read an operation of that project
    (``session.can_access``); without it every owned operation is readable. An operation no
    project owns is readable only with ``allow_unowned``. Raises ``Problem`` 404 (unknown or
    refused: the same answer), 422 (a malformed ``Last-Event-ID``), 503 (backend down).

    ``session``: the reader's session (as ``require_session`` returns it); the stream of an
    owned operation then closes when that session may no longer read it. ``after`` is the
    position when the request has no ``Last-Event-ID`` (e.g. from a query parameter).
    """
    position = request.headers.get("last-event-id") or after or None
    if position is not None:
        ProgressEvent.parse_id(position)  # InvalidProgressError: 422
    read = await manager.read_progress(correlation_id)
    if read.failed:  # an outage: the same answer for every ID, nothing about this one
        raise Problem(503, "the progress could not be read", headers={"Retry-After": "1"})
    state = read.value
    owner: CanonicalId | None = None if state is None else state["project_id"]
    readable = allow_unowned if owner is None else (allow is None or allow(owner))
    if state is None or not readable:
        raise progress_not_found(correlation_id)
    last = state["last_event_id"]
    finished = state["status"] != "running"
    if (
        finished
        and position is not None
        and last
        and ProgressEvent.order(position) >= ProgressEvent.order(last)
    ):
        return Response(status_code=204)
    keepalive = manager.settings.cache_progress_keepalive
    events: AsyncIterator[ProgressEvent | AccessEnded]
    events = manager.progress_events(correlation_id, position, check_every=keepalive)
    if session is not None and owner is not None:
        if session.session_id is None:
            raise ValueError("this session carries no ID (a listing): pass require_session's")
        events = while_allowed(events, manager, session.session_id, session, owner, keepalive)
    return EventSourceResponse(
        _stream(events),
        headers=SSE_HEADERS,
        ping=_seconds(keepalive),
        sep=_SEP,
        ping_message_factory=_keep_alive,
        send_timeout=SEND_TIMEOUT,
    )


def server_sent(event: ProgressEvent) -> ServerSentEvent:
    """One Server-Sent Event: ``id``, ``event`` (the kind) and one line of JSON ``data``."""
    data = orjson.dumps(event.as_dict()).decode()
    return ServerSentEvent(data=data, event=event.kind.value, id=event.id, sep=_SEP)


def _keep_alive() -> ServerSentEvent:
    return ServerSentEvent(comment="keep-alive", sep=_SEP)


def _access_ended(ended: AccessEnded) -> ServerSentEvent:
    data = orjson.dumps({"reason": ended.reason, "detail": ended.detail}).decode()
    return ServerSentEvent(data=data, event="closed", sep=_SEP)


async def _stream(
    events: AsyncIterator[ProgressEvent | AccessEnded],
) -> AsyncGenerator[ServerSentEvent, None]:
    yield ServerSentEvent(retry=RETRY_MS, sep=_SEP)  # EventSource waits this, then reconnects
    try:
        async for event in events:
            if isinstance(event, AccessEnded):
                yield _access_ended(event)
                return
            yield server_sent(event)
    finally:
        closing = getattr(events, "aclose", None)
        if closing is not None:
            await closing()


def _seconds(value: float) -> Any:
    # Through Any: sse-starlette types ``ping`` as int before 3.x and as float after.
    return value
