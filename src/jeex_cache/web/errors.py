"""Error responses of the reference service: the integration's problem documents.

``jeex_cache.fastapi.install`` renders the library's typed errors as
``application/problem+json`` (see ``jeex_cache.fastapi.problems``). The service adds an
``error`` member naming the failure (``InvalidSession``, ``NotFound``, ``PayloadTooLargeError``),
renders Starlette's own HTTP errors (404, 405, 413) the same way, and counts a session the
manager refused against the client address (``FailedCredentialLimit``; ``require_session``
does it for the routes that use it). A project the session may not
access is 404, the answer for a project that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from jeex_cache.core.errors import AccessDenied
from jeex_cache.fastapi import Problem, manager_of, problem_response
from jeex_cache.fastapi.credentials import credential_failed, presents_bearer
from jeex_cache.fastapi.problems import access_problem

__all__ = ["error_response", "install_error_handlers", "status_name"]


def error_response(
    status_code: int,
    error: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem document whose ``error`` member names the failure."""
    return problem_response(status_code, detail, headers=headers, error=error, **extra)


def status_name(status_code: int) -> str:
    """The error name of an HTTP status: 404 is ``NotFound``, 405 ``MethodNotAllowed``."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        return "HTTPError"
    return phrase.title().replace(" ", "").replace("-", "")


def install_error_handlers(app: FastAPI) -> None:
    """After ``install``: problem documents for Starlette's HTTP errors, and session denials
    that name their reason and count as failed credentials."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Problem, _http_error)
    app.add_exception_handler(AccessDenied, _access_denied)


_NAMES = {401: "InvalidSession", 503: "BackendUnavailable"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    name = _NAMES.get(status) if isinstance(exc, Problem) else None
    title = exc.title if isinstance(exc, Problem) else None
    extra = exc.extra if isinstance(exc, Problem) else {}
    return problem_response(
        status,
        str(exc.detail),
        title=title,
        headers=exc.headers,
        **{"error": name or status_name(status), **extra},
    )


_DENIALS = {
    AccessDenied.INVALID_SESSION: "InvalidSession",
    AccessDenied.PROJECT_NOT_GRANTED: "NotFound",
    AccessDenied.UNAVAILABLE: "BackendUnavailable",
}


async def _access_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccessDenied)
    problem: Problem = access_problem(exc)
    if problem.status_code == 401 and _presents_session(request):  # named, and not live
        credential_failed(request)
    return problem_response(
        problem.status_code,
        str(problem.detail),
        title=problem.title,
        headers=problem.headers,
        error=_DENIALS.get(exc.reason, "NotFound"),
        reason=exc.reason,
    )


def _presents_session(request: Request) -> bool:
    cookie = manager_of(request).settings.cache_session_cookie_name
    return presents_bearer(request) or cookie in request.cookies
