"""Progress endpoints of the reference service: the current state, and a Server-Sent Events feed.

``GET /progress/{id}/events`` streams each event as ``id:`` (the event ID), ``event:`` (its
kind: started, progress, completed or failed) and ``data:`` (JSON), sends a ``: keep-alive``
comment after ``CACHE_PROGRESS_KEEPALIVE`` seconds of silence, and ends after the completed or
failed event. A client that reconnects with ``Last-Event-ID`` (browsers' ``EventSource`` does
it by itself) gets exactly the events after that one; once it has seen the last event of a
finished operation the answer is 204, which tells ``EventSource`` to stop reconnecting.

Both endpoints need a session (``Authorization: Bearer`` or the session cookie, which
``EventSource`` sends) with access to the project that owns the operation. Progress that no
project owns is shown to nobody, unless ``PROGRESS_PUBLIC=true`` shows it to anyone. An
unknown operation and one the caller may not read get the same 404: IDs cannot be probed.
An open stream re-checks that access every keep-alive, and at once when this process
revokes the session or the project (``progress_access``); when it has ended, the stream's
last event is ``event: closed`` with ``data: {"reason": ..., "detail": ...}``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from jeex_cache.core.errors import AccessDenied
from jeex_cache.progress.model import ProgressEvent
from jeex_cache.progress.rules import event_order, parse_event_id
from jeex_cache.sessions.model import UserSession
from jeex_cache.web.errors import error_response
from jeex_cache.web.progress_access import AccessEnded, while_allowed
from jeex_cache.web.routes import Manager
from jeex_cache.web.schemas import ErrorBody
from jeex_cache.web.sessions import presented_session_id

__all__ = ["ProgressState", "readable", "router", "server_sent", "sse_response"]

router = APIRouter()

RETRY_MS = 1_000  # how long an EventSource waits before it reconnects
SEND_TIMEOUT = 30.0  # a client that reads nothing this long is dropped
_SEP = "\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ProgressState(BaseModel):
    """``GET /progress/{id}``: where a tracked operation stands."""

    correlation_id: str
    status: str
    current_step: int
    total_steps: int
    percentage: float
    message: str
    error: str | None
    started_at: datetime
    updated_at: datetime
    last_event_id: str | None
    project_id: UUID | None


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid session."},
    404: {"model": ErrorBody, "description": "Unknown, expired, or not this session's."},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


async def readable(
    request: Request, manager: Manager, correlation_id: str
) -> dict[str, Any] | JSONResponse:
    """The operation's state if this request may read it; else the one 404 (or 401, 503).

    The session is checked before the progress is read, so neither a 401 nor its absence
    depends on whether the operation exists.
    """
    return (await _reader(request, manager, correlation_id))[0]


async def _reader(
    request: Request, manager: Manager, correlation_id: str
) -> tuple[dict[str, Any] | JSONResponse, str | None, UserSession | None]:
    """``readable``'s answer, with the session token and the session it was read for."""
    public = manager.settings.progress_public
    token = presented_session_id(request)
    if token is None and not public:
        raise AccessDenied(
            "a session is required: send 'Authorization: Bearer <session id>' or the "
            "session cookie",
            reason=AccessDenied.INVALID_SESSION,
        )
    session = None if token is None else await manager.require_session(token)
    read = await manager.read_progress(correlation_id)
    if read.failed:  # an outage, the same answer for every ID: nothing about this one
        answer = error_response(503, "BackendUnavailable", "the progress could not be read")
        return answer, token, session
    state = read.value
    if state is not None and _may_read(state["project_id"], session, public):
        return state, token, session
    answer = error_response(
        404, "NotFound", f"no operation {correlation_id} is tracked that this session may read"
    )
    return answer, token, session


def _may_read(owner: UUID | None, session: UserSession | None, public: bool) -> bool:
    if owner is None:
        return public
    return session is not None and session.can_access(owner)


@router.get(
    "/progress/{correlation_id}",
    response_model=ProgressState,
    responses=_ERRORS,
    summary="Where a tracked operation stands",
)
async def get_progress(
    correlation_id: str, manager: Manager, request: Request
) -> ProgressState | JSONResponse:
    """Percentage, step, message and status; 404 if unknown, expired or not readable."""
    state = await readable(request, manager, correlation_id)
    if isinstance(state, JSONResponse):
        return state
    return ProgressState(**state)


@router.get(
    "/progress/{correlation_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events."},
        204: {"description": "Nothing after Last-Event-ID: the operation has finished."},
        **_ERRORS,
    },
    summary="Follow a tracked operation as Server-Sent Events",
)
async def progress_events(
    correlation_id: str,
    manager: Manager,
    request: Request,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[str | None, Query(description="Like Last-Event-ID (header wins).")] = None,
) -> Response:
    """Every event (after ``Last-Event-ID``), then each new one live, until the last."""
    position = last_event_id or after
    if position is not None:
        parse_event_id(position)
    state, token, session = await _reader(request, manager, correlation_id)
    if isinstance(state, JSONResponse):
        return state
    last = state["last_event_id"]
    finished = state["status"] != "running"
    if finished and position is not None and last and event_order(position) >= event_order(last):
        return Response(status_code=204)
    keepalive = manager.settings.cache_progress_keepalive
    events = manager.progress_events(correlation_id, position, check_every=keepalive)
    owner = state["project_id"]
    if owner is None or token is None or session is None:  # public progress: nobody's access
        return sse_response(events, keepalive)
    return sse_response(while_allowed(events, manager, token, session, owner, keepalive), keepalive)


def server_sent(event: ProgressEvent) -> ServerSentEvent:
    """One Server-Sent Event: ``id``, ``event`` (the kind) and one line of JSON ``data``."""
    data = orjson.dumps(event.as_dict()).decode()
    return ServerSentEvent(data=data, event=event.kind.value, id=event.id, sep=_SEP)


def _keep_alive() -> ServerSentEvent:
    return ServerSentEvent(comment="keep-alive", sep=_SEP)


def sse_response(
    events: AsyncIterator[ProgressEvent | AccessEnded], keepalive: float
) -> EventSourceResponse:
    """``events`` as Server-Sent Events through sse-starlette.

    It sends a ``: keep-alive`` comment every ``keepalive`` seconds, notices a client that
    left (and then closes ``events``, releasing its subscription), drops a client that does
    not read within ``SEND_TIMEOUT`` seconds, and ends the streams when the server shuts down.
    """
    return EventSourceResponse(
        _stream(events),
        headers=SSE_HEADERS,
        ping=_seconds(keepalive),
        sep=_SEP,
        ping_message_factory=_keep_alive,
        send_timeout=SEND_TIMEOUT,
    )


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
