"""Cookie-authenticated requests that change state must come from this service's own pages.

A browser sends cookies with requests that other sites start. ``SameSite`` keeps the session
cookie (``Lax``) and the dashboard's login (``Strict``) off most of them; this check is the
second wall. A ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` that carries a cookie and no
``Authorization`` header is refused (403) unless the browser says it comes from this origin:
``Sec-Fetch-Site: same-origin`` (or ``none``, typed by the user), else an ``Origin`` whose
host is the request's ``Host``. A request with neither header is no browser's cross-site
request, and passes. A request authenticated by ``Authorization`` carries no ambient
credential, and passes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from jeex_cache.web.errors import error_response

__all__ = ["SameOriginForCookies", "same_origin"]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TRUSTED_SITES = frozenset({"same-origin", "none"})


def same_origin(headers: Headers) -> bool:
    """Whether a browser's request comes from this origin, by its Fetch metadata or Origin
    (True when it sends neither)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() in _TRUSTED_SITES
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "").strip().lower()
    return bool(host) and urlsplit(origin.strip()).netloc.lower() == host


class SameOriginForCookies:
    """ASGI middleware: 403 to a cross-origin state change authenticated by a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            headers = Headers(scope=scope)
            if "cookie" in headers and "authorization" not in headers and not same_origin(headers):
                response = error_response(
                    403,
                    "CrossOriginRefused",
                    "a cookie-authenticated change must come from this service's own pages "
                    "(Origin or Sec-Fetch-Site); scripts send 'Authorization' instead",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
