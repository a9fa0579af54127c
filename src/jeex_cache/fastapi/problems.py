"""Problem documents (RFC 9457): every failure of the integration as ``application/problem+json``.

``Problem`` is an ``HTTPException``, so an app that never called ``install`` still answers
with its status and headers; ``install`` renders it, and the library's typed errors, as
problem documents:

| error | status |
| --- | --- |
| request validation, ``InvalidInputError`` | 422 (``PayloadTooLargeError``: 413) |
| ``AccessDenied``: no valid session | 401 with ``WWW-Authenticate: Bearer`` |
| ``AccessDenied``: project not granted | 404 (whether the project exists is not told) |
| ``AccessDenied``: session store down; ``BackendError``; other ``JeexCacheError`` | 503 |
| ``MemoryLimitError`` (a ``BackendError``: the embedded backend is full) | 503 |
| ``ConfigurationError`` (a route wired wrongly) | 500 saying what is missing |
| a refused rate-limit check | 429 with ``Retry-After`` (``jeex_cache.fastapi.rate_limit``) |
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from jeex_cache.core.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidInputError,
    JeexCacheError,
    PayloadTooLargeError,
)

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "access_problem",
    "install_problem_handlers",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
RETRY_SECONDS = "1"  # Retry-After of a 503: the breaker's probe comes within seconds


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem document: ``{"type", "title", "status", "detail", **extra}``."""
    body = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


class Problem(HTTPException):
    """An HTTP error with a problem document's ``title`` and extra members."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status, detail, dict(headers) if headers else None)
        self.title = title or _phrase(status)
        self.extra = extra


def access_problem(denied: AccessDenied) -> Problem:
    """The answer to a denial: 401 (no valid session), 404 (project not granted: the same
    answer as for a project that does not exist) or 503 (the session store is down)."""
    if denied.reason == AccessDenied.INVALID_SESSION:
        return Problem(
            401,
            str(denied),
            title="No valid session",
            headers={"WWW-Authenticate": 'Bearer realm="jeex"'},
        )
    if denied.reason == AccessDenied.UNAVAILABLE:
        return Problem(
            503,
            "the session store is unavailable: access is denied until it is back",
            title="Session store unavailable",
            headers={"Retry-After": RETRY_SECONDS},
        )
    return Problem(404, "no such project for this session", title="Not found")


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that answer every known failure with a problem document."""
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(InvalidInputError, _input_invalid)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(ConfigurationError, _misconfigured)
    app.add_exception_handler(JeexCacheError, _unavailable)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status_code, str(exc.detail), title=exc.title, headers=exc.headers, **exc.extra
    )


async def _request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # The offending input is not echoed back: it may be large, or hold a secret sent by mistake.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    return problem_response(
        422, summary or "invalid request", error="RequestValidationError", errors=errors
    )


async def _input_invalid(request: Request, exc: Exception) -> Response:
    status = 413 if isinstance(exc, PayloadTooLargeError) else 422
    return problem_response(status, str(exc), error=type(exc).__name__)


async def _access_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccessDenied)
    return await _problem(request, access_problem(exc))


async def _misconfigured(request: Request, exc: Exception) -> Response:
    return problem_response(500, str(exc), title="The route is misconfigured")


async def _unavailable(request: Request, exc: Exception) -> Response:
    return problem_response(
        503,
        str(exc),
        title="Backend unavailable",
        headers={"Retry-After": RETRY_SECONDS},
        error=type(exc).__name__,
    )
