"""Sessions and project access for your routes: ``require_session``, ``require_project_access``.

    @app.get("/projects/{project_id}/report")
    async def report(project_id: str, session: ProjectSession) -> dict: ...

    ProjectSession = Annotated[UserSession, Depends(require_project_access())]

The session ID travels as ``Authorization: Bearer <id>`` or in the cookie named by
``CACHE_SESSION_COOKIE_NAME`` (``set_session_cookie`` after your login). Both schemes are
FastAPI security classes, so ``/docs`` offers to authorize with them. Without a valid session
the answer is 401 with ``WWW-Authenticate``; while the session store is down, 503 (access
fails closed, never 200); a project the session may not access is 404, the answer for a
project that does not exist. Both dependencies set ``request.state.user_id`` and
``request.state.project_id`` (None outside a project), which per-user and per-project rate
limits and per-user route caching read.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from jeex_cache import UserSession
from jeex_cache.config import Settings
from jeex_cache.core.errors import AccessDenied, ConfigurationError, InvalidIdentifierError
from jeex_cache.core.identifiers import parse_id
from jeex_cache.fastapi._app import installed_settings, manager_of
from jeex_cache.fastapi.credentials import credential_failed
from jeex_cache.fastapi.problems import Problem, access_problem

__all__ = [
    "clear_session_cookie",
    "require_project_access",
    "require_session",
    "session_id_of",
    "set_session_cookie",
]

_DEFAULT_COOKIE: str = Settings.model_fields["cache_session_cookie_name"].default


class SessionCookie(APIKeyCookie):
    """The session cookie, named by the app's ``CACHE_SESSION_COOKIE_NAME`` (``/docs`` shows
    the default name)."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        name = manager_of(request).settings.cache_session_cookie_name
        return request.cookies.get(name) or None


_bearer = HTTPBearer(auto_error=False, description="The session ID as a Bearer token.")
_cookie = SessionCookie(
    name=_DEFAULT_COOKIE, auto_error=False, description="The session cookie (HttpOnly)."
)


def session_id_of(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    cookie: Annotated[str | None, Security(_cookie)],
) -> str:
    """The session ID the request carries, Bearer first, then the cookie; 401 if none.

    The value is only looked up, never adopted: an ID the server did not issue finds nothing.
    """
    if bearer is not None and bearer.credentials.strip():
        return bearer.credentials.strip()
    if cookie:
        return cookie
    raise access_problem(
        AccessDenied(
            "a session is required: send 'Authorization: Bearer <session id>' or the "
            "session cookie",
            reason=AccessDenied.INVALID_SESSION,
        )
    )


async def require_session(
    request: Request, session_id: Annotated[str, Depends(session_id_of)]
) -> UserSession:
    """The request's live session (its activity refreshed); 401 without one, 503 while the
    session store is down. Sets ``request.state.user_id``; a session ID that is not live is
    a failed credential (``FailedCredentialLimit``)."""
    try:
        session = await manager_of(request).require_session(session_id)
    except AccessDenied as denied:
        if denied.reason == AccessDenied.INVALID_SESSION:
            credential_failed(request)  # counted by FailedCredentialLimit, if the app has it
        raise access_problem(denied) from None
    request.state.user_id = session.user_id
    if getattr(request.state, "project_id", None) is None:
        request.state.project_id = None
    return session


SessionCheck = Callable[[Request, UserSession], Awaitable[UserSession]]


@functools.cache
def require_project_access(param: str = "project_id") -> SessionCheck:
    """A dependency: the session, if it may access the project named by the path parameter
    ``param``; 404 if not (or if the value is no project ID), 401 and 503 as
    ``require_session``. Sets ``request.state.user_id`` and ``request.state.project_id``.

    One call per ``param`` returns one dependency, so FastAPI runs it once per request.
    """

    async def check(
        request: Request, session: Annotated[UserSession, Depends(require_session)]
    ) -> UserSession:
        raw = request.path_params.get(param)
        if raw is None:
            raise ConfigurationError(
                f"require_project_access({param!r}) on {request.url.path}: the route has no "
                f"path parameter {param!r}; name the one that holds the project ID"
            )
        try:
            project_id = parse_id(raw)
        except InvalidIdentifierError:
            project_id = None
        # The session was validated in this request: its access list is current.
        if project_id is None or not session.can_access(project_id):
            raise Problem(404, "no such project for this session", title="Not found")
        request.state.project_id = project_id
        return session

    check.__name__ = f"require_project_access_{param}"
    return check


def set_session_cookie(
    response: Response, session: UserSession, *, settings: Settings | None = None
) -> None:
    """Put ``session``'s ID in the session cookie: HttpOnly, SameSite=Lax, Secure unless
    ``CACHE_SESSION_COOKIE_SECURE=false``, lasting until the session's absolute expiry.

    The cookie's name and ``Secure`` flag come from ``settings``, by default those of the
    manager ``install`` stored last (one app per process), else the environment's.
    """
    settings = settings or installed_settings()
    if session.session_id is None:
        raise ValueError("this session carries no ID (a listing): use the one create returned")
    remaining = session.absolute_expires_at - session.last_activity
    response.set_cookie(
        settings.cache_session_cookie_name,
        session.session_id,
        max_age=max(1, int(remaining.total_seconds())),
        path="/",
        secure=settings.cache_session_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, *, settings: Settings | None = None) -> None:
    """Remove the session cookie (after a logout); ``settings`` as for ``set_session_cookie``."""
    settings = settings or installed_settings()
    response.delete_cookie(
        settings.cache_session_cookie_name,
        path="/",
        secure=settings.cache_session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
