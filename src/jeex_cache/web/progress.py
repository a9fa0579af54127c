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
revokes the session or the project (``jeex_cache.fastapi.progress_stream`` given the
session); when it has ended, the stream's last event is ``event: closed`` with
``data: {"reason": ..., "detail": ...}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from jeex_cache import UserSession
from jeex_cache.core.errors import AccessDenied
from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.fastapi import progress_stream
from jeex_cache.manager import CacheManager
from jeex_cache.web.errors import error_response
from jeex_cache.web.routes import Manager
from jeex_cache.web.schemas import ErrorBody
from jeex_cache.web.sessions import presented_session_id

__all__ = ["ProgressState", "readable", "router"]

router = APIRouter()


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
    project_id: CanonicalId | None


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
    session = await _session(request, manager)
    read = await manager.read_progress(correlation_id)
    if read.failed:  # an outage, the same answer for every ID: nothing about this one
        return error_response(503, "BackendUnavailable", "the progress could not be read")
    state = read.value
    if state is not None and _may_read(state["project_id"], session, manager):
        return state
    return error_response(
        404, "NotFound", f"no operation {correlation_id} is tracked that this session may read"
    )


async def _session(request: Request, manager: CacheManager) -> UserSession | None:
    """The request's session; None without one when progress is public, else 401 first, so
    that neither a 401 nor its absence depends on whether the operation exists."""
    token = presented_session_id(request)
    if token is None:
        if manager.settings.progress_public:
            return None
        raise AccessDenied(
            "a session is required: send 'Authorization: Bearer <session id>' or the "
            "session cookie",
            reason=AccessDenied.INVALID_SESSION,
        )
    return await manager.require_session(token)


def _may_read(
    owner: CanonicalId | None, session: UserSession | None, manager: CacheManager
) -> bool:
    if owner is None:
        return manager.settings.progress_public
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
    session = await _session(request, manager)
    return await progress_stream(
        manager,
        correlation_id,
        request,
        allow=_nobody if session is None else session.can_access,
        allow_unowned=manager.settings.progress_public,
        session=session,
        after=last_event_id or after,
    )


def _nobody(project: CanonicalId) -> bool:
    return False
