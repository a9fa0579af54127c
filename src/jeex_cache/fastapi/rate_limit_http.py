"""Rate-limit results as HTTP: the IETF draft's headers, ``Retry-After``, and problem bodies.

``RateLimit-Policy: "minute";q=100;w=60, "hour";q=1000;w=3600`` announces each window's quota
and length; ``RateLimit: "minute";r=0;t=17`` its remaining quota and the seconds until more is
made available (draft-ietf-httpapi-ratelimit-headers). A refusal is ``429`` with
``Retry-After`` and an ``application/problem+json`` body (RFC 9457) of the draft's
``quota-exceeded`` type; a check that could not run while failing closed is ``503``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jeex_cache import RateLimitResult
from jeex_cache.fastapi.problems import PROBLEM_JSON

__all__ = [
    "QUOTA_EXCEEDED",
    "RateLimitExceeded",
    "handle_rate_limit_exceeded",
    "rate_limit_headers",
    "refusal",
    "refusal_headers",
]

QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"
REDUCED_CAPACITY = "https://iana.org/assignments/http-problem-types#temporary-reduced-capacity"


def rate_limit_headers(results: Iterable[RateLimitResult]) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` for every window of ``results`` (none for a
    result the backend could not give: its numbers would be made up). Two windows of one
    name in different scopes (per user and per IP, both ``minute``) are told apart by their
    scope: ``"user.minute"``, ``"ip.minute"``."""
    windows = [window for result in results for window in result.windows]
    names = [window.name for window in windows]
    policies, limits = [], []
    for window in windows:
        name = window.name if names.count(window.name) == 1 else f"{window.scope}.{window.name}"
        policies.append(f'"{name}";q={window.limit};w={window.window_seconds}')
        reset = f";t={math.ceil(window.reset_seconds)}" if window.count else ""
        limits.append(f'"{name}";r={window.remaining}{reset}')
    if not policies:
        return {}
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(limits)}


def refusal_headers(
    result: RateLimitResult, results: Iterable[RateLimitResult] = ()
) -> dict[str, str]:
    """``Retry-After`` (whole seconds, at least 1) and the RateLimit headers of ``results``."""
    retry = max(1, math.ceil(result.retry_after))
    return {"Retry-After": str(retry), **rate_limit_headers(results or (result,))}


def refusal(result: RateLimitResult, results: Iterable[RateLimitResult] = ()) -> Response:
    """The response to a refused request: 429 (or 503 when rate limiting is down and set to
    fail closed), ``Retry-After``, the headers of ``results`` and a problem body."""
    headers = refusal_headers(result, results)
    retry = headers["Retry-After"]
    if result.error is not None:
        status, body = (
            503,
            {
                "type": REDUCED_CAPACITY,
                "title": "Request cannot be satisfied while rate limiting is unavailable",
                "status": 503,
                "detail": f"rate limiting is unavailable; retry in {retry} s",
            },
        )
    else:
        status, body = (
            429,
            {
                "type": QUOTA_EXCEEDED,
                "title": "Request cannot be satisfied as assigned quota has been exceeded",
                "status": 429,
                "detail": f"rate limit exceeded; retry in {retry} s",
                "violated-policies": list(result.violated),
            },
        )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


class RateLimitExceeded(HTTPException):
    """Raised by the rate-limit dependency for a refused request.

    An ``HTTPException``, so an app without ``install`` still answers 429 with
    ``Retry-After`` and the RateLimit headers; with it, the body is a problem document.
    """

    def __init__(self, result: RateLimitResult, results: Iterable[RateLimitResult] = ()) -> None:
        self.result = result
        self.results = tuple(results) or (result,)
        status = 429 if result.error is None else 503
        detail = "rate limit exceeded" if status == 429 else "rate limiting is unavailable"
        super().__init__(status, detail, refusal_headers(result, self.results))


async def handle_rate_limit_exceeded(request: Request, exc: Exception) -> Response:
    """The exception handler that renders ``RateLimitExceeded`` as a problem document."""
    assert isinstance(exc, RateLimitExceeded)
    return refusal(exc.result, exc.results)
