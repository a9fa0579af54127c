"""Error responses of the reference service: every failure is JSON, never a bare 500.

The body is always ``{"error": "<name>", "detail": "<message>", ...}``. Bad input (a
``jeex_cache.errors.InvalidInputError``, or a request FastAPI cannot validate) is 422, a
payload over ``CACHE_MAX_PAYLOAD_BYTES`` is 413. ``AccessDenied`` is 401 without a valid
session, 403 for a project the session may not access, 503 when the session store is down
(access fails closed). Any other ``JeexCacheError`` is 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from jeex_cache.core.errors import (
    AccessDenied,
    InvalidInputError,
    JeexCacheError,
    PayloadTooLargeError,
)
from jeex_cache.web.credentials import credential_failed, presents_bearer

__all__ = ["error_response", "install_error_handlers", "status_name"]


def error_response(
    status_code: int,
    error: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A JSON error response: ``{"error": error, "detail": detail, **extra}``."""
    body = {"error": error, "detail": detail, **extra}
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


def status_name(status_code: int) -> str:
    """The error name of an HTTP status: 404 is ``NotFound``, 405 ``MethodNotAllowed``."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        return "HTTPError"
    return phrase.title().replace(" ", "").replace("-", "")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every known failure into a JSON error body."""
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(InvalidInputError, _input_invalid)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(JeexCacheError, _unavailable)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is not echoed back: it may be large, or hold what the client sent
    # by mistake.
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": str(error.get("msg", "")),
            "type": error.get("type"),
        }
        for error in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    return error_response(
        422, "RequestValidationError", summary or "invalid request", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(
        exc.status_code, status_name(exc.status_code), str(exc.detail), headers=exc.headers
    )


async def _input_invalid(request: Request, exc: Exception) -> JSONResponse:
    status = 413 if isinstance(exc, PayloadTooLargeError) else 422
    return error_response(status, type(exc).__name__, str(exc))


_DENIALS = {
    AccessDenied.INVALID_SESSION: (401, "InvalidSession"),
    AccessDenied.PROJECT_NOT_GRANTED: (403, "AccessDenied"),
    AccessDenied.UNAVAILABLE: (503, "BackendUnavailable"),
}


async def _access_denied(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessDenied)
    status, error = _DENIALS.get(exc.reason, (403, "AccessDenied"))
    if status == 401 and _presents_session(request):  # a session was named, and is not live
        credential_failed(request)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, error, str(exc), headers=headers, reason=exc.reason)


def _presents_session(request: Request) -> bool:
    manager = getattr(request.app.state, "manager", None)
    if presents_bearer(request):
        return True
    return manager is not None and manager.settings.cache_session_cookie_name in request.cookies


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return error_response(503, type(exc).__name__, str(exc))
