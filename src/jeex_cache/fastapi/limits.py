"""A request-body size limit, so an oversized upload is refused before it is held in memory.

    app.add_middleware(BodySizeLimit, max_bytes=body_limit_for(settings.cache_max_payload_bytes))

The cache itself refuses an encoded value over ``CACHE_MAX_PAYLOAD_BYTES`` (413), but only
once the body is parsed, and parsing costs far more memory than the bytes (a megabyte of
``[{},{},...]`` is some 25 MB of objects). So this guard refuses a body over the payload limit
plus a small envelope before any parsing: it checks ``Content-Length`` up front and counts the
bytes of a streamed (chunked) body as they arrive.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jeex_cache.fastapi.problems import Problem, problem_response

__all__ = ["BodySizeLimit", "body_limit_for"]

ENVELOPE_BYTES = 64 * 1024
TOO_LARGE = "RequestEntityTooLarge"  # the problem document's ``error`` member


def body_limit_for(max_payload_bytes: int) -> int:
    """The largest request body accepted for values of at most ``max_payload_bytes``.

    The payload limit plus 64 KiB, room for the request's other fields: a compact value at
    the limit still reaches the cache's own precise check; a padded one may be refused here.
    """
    return max_payload_bytes + ENVELOPE_BYTES


class BodySizeLimit:
    """ASGI middleware answering 413 to HTTP requests whose body exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(413, self._message(), error=TOO_LARGE)
            await response(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the route's body read: FastAPI re-raises HTTPExceptions
                    # from there, and the app's handler renders it (``install``: a problem).
                    raise Problem(413, self._message(), error=TOO_LARGE)
            return message

        await self.app(scope, counted_receive, send)

    def _message(self) -> str:
        return f"request body is over the limit of {self.max_bytes} bytes"
