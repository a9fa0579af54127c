"""The reference service's session endpoints, and how a request names its session.

``POST /sessions`` issues a session for whatever user and projects the body names, so it
answers only a caller holding the issuer token (``jeex_cache.web.credentials``): a trusted
backend, never a browser. Such sessions are bounded by ``SESSION_ISSUER_MAX_DATA_BYTES`` and
``SESSION_ISSUER_MAX_PROJECTS``. A real application authenticates the user itself (password,
SSO...) and then calls ``create_user_session``.

A session travels as ``Authorization: Bearer <id>`` or as the cookie ``CACHE_SESSION_COOKIE_NAME``
(``HttpOnly; Secure; SameSite=Lax``, path ``/``, lasting no longer than the session's
absolute lifetime). ``SameSite=Lax`` keeps the cookie off cross-site POST, PUT and DELETE
requests, the ones that change state here.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from jeex_cache import UserSession
from jeex_cache.core.errors import AccessDenied, InvalidInputError, PayloadTooLargeError
from jeex_cache.core.resilience import outcome_of
from jeex_cache.fastapi import (
    clear_session_cookie,
    manager_of,
    require_session,
    set_session_cookie,
)
from jeex_cache.fastapi.bodies import json_body, request_body
from jeex_cache.fastapi.sessions import session_id_of
from jeex_cache.manager import CacheManager
from jeex_cache.web.credentials import require_issuer
from jeex_cache.web.errors import error_response
from jeex_cache.web.schemas import ErrorBody, SessionCreate, SessionInfo, SessionIssued

__all__ = ["Session", "SessionToken", "presented_session_id", "router"]

router = APIRouter(prefix="/sessions", tags=["sessions"])


Manager = Annotated[CacheManager, Depends(manager_of)]
SessionToken = Annotated[str, Depends(session_id_of)]
"""The session ID the request carries (Bearer first, then the cookie); 401 if none."""
Session = Annotated[UserSession, Depends(require_session)]


def presented_session_id(request: Request) -> str | None:
    """The session ID the request carries, as ``SessionToken`` reads it; None if none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(manager_of(request).settings.cache_session_cookie_name) or None


_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No valid session."},
    503: {"model": ErrorBody, "description": "The session store is unavailable."},
}


@router.post(
    "",
    status_code=201,
    response_model=SessionIssued,
    responses={422: {"model": ErrorBody}, 413: {"model": ErrorBody}, **_RESPONSES},
    dependencies=[Depends(require_issuer)],  # runs before the body is read
    summary="Issue a session (needs the issuer token: 'Authorization: Bearer <token>')",
    openapi_extra=request_body(SessionCreate),
)
async def create_session(
    request: Request, manager: Manager, response: Response
) -> SessionIssued | JSONResponse:
    """Issue a session for ``user_id`` with access to ``project_access``; sets the cookie."""
    async with json_body(request, SessionCreate) as body:
        _check_bounds(body, manager)
        session = await manager.create_user_session(
            body.user_id, body.user_data, body.project_access
        )
    if session is None:
        return error_response(503, "BackendUnavailable", "no session could be issued")
    set_session_cookie(response, session, settings=manager.settings)
    return SessionIssued.issued(session)


def _check_bounds(body: SessionCreate, manager: CacheManager) -> None:
    settings = manager.settings
    projects = len(set(body.project_access))
    if projects > settings.session_issuer_max_projects:
        raise InvalidInputError(
            f"{projects} projects requested, over the limit of "
            f"{settings.session_issuer_max_projects} (SESSION_ISSUER_MAX_PROJECTS)"
        )
    try:
        size = len(orjson.dumps(body.user_data))
    except TypeError:  # e.g. an integer beyond 64 bits: the manager refuses it with its reason
        return
    if size > settings.session_issuer_max_data_bytes:
        raise PayloadTooLargeError(
            f"user data is {size} bytes, over the limit of "
            f"{settings.session_issuer_max_data_bytes} (SESSION_ISSUER_MAX_DATA_BYTES)"
        )


@router.get("/me", response_model=SessionInfo, responses=_RESPONSES, summary="The current session")
async def current_session(session: Session) -> SessionInfo:
    """The session (without its ID); this request counts as activity."""
    return SessionInfo.of(session)


@router.delete("/me", status_code=204, responses=_RESPONSES, summary="Log out: end the session now")
async def end_session(token: SessionToken, manager: Manager) -> Response:
    """Revoke the session and clear the cookie (204 even if it had already ended)."""
    await manager.revoke_user_session(token, "logout")
    response = Response(status_code=204)
    clear_session_cookie(response, settings=manager.settings)
    return response


@router.post(
    "/me/rotate",
    response_model=SessionIssued,
    responses=_RESPONSES,
    summary="Give the session a new ID (after a privilege change); the old one ends now",
)
async def rotate_session(
    token: SessionToken, manager: Manager, response: Response
) -> SessionIssued | JSONResponse:
    """Move the session to a new ID; sets the new cookie."""
    outcome = await outcome_of(manager.rotate_session, token)
    if outcome.failed:
        return error_response(503, "BackendUnavailable", "the session could not be rotated")
    rotated = outcome.value
    if rotated is None:
        raise AccessDenied(
            "the session is unknown, expired or revoked", reason=AccessDenied.INVALID_SESSION
        )
    set_session_cookie(response, rotated, settings=manager.settings)
    return SessionIssued.issued(rotated)
