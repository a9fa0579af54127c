"""Request bodies, read only after the credentials are checked, and parsed a few at a time.

    @app.put("/projects/{project_id}/notes", openapi_extra=request_body(Note))
    async def put_note(project_id: str, session: ProjectSession, request: Request) -> dict:
        async with json_body(request, Note) as note:
            ...

A route that takes a JSON body declares none to FastAPI, which would read and parse it before
any dependency runs, that is before the credentials are checked. The route's dependencies
check them, then it opens ``async with json_body(request, Model) as body``:

- the raw bytes are read (``BodySizeLimit`` caps them);
- a turn of ``BodyGate`` is taken: at most ``HTTP_MAX_CONCURRENT_BODIES`` bodies are parsed
  and held at once; a caller waits up to ``HTTP_BODY_WAIT_SECONDS`` for a turn, then gets 503;
- ``check_json_shape`` bounds the nesting and the elements before a Python object is built;
- the JSON is parsed and validated into ``Model`` (422 as FastAPI's own, on failure).

The turn is held until the block ends, while the parsed body is alive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from jeex_cache.config import Settings
from jeex_cache.core.errors import InvalidInputError
from jeex_cache.fastapi._app import manager_of
from jeex_cache.fastapi.json_bounds import JsonShapeError, check_json_shape
from jeex_cache.fastapi.problems import Problem

__all__ = ["BodyGate", "body_gate", "json_body", "request_body"]

M = TypeVar("M", bound=BaseModel)
RETRY_AFTER = "1"
_NOT_JSON = "the body must be JSON: send 'Content-Type: application/json'"


class BodyGate:
    """At most ``limit`` request bodies parsed and held at once, in one process.

    A caller waits up to ``wait`` seconds for a turn, in order, then gets 503 with
    ``Retry-After``. ``max_depth`` and ``max_elements`` bound each body's JSON.
    """

    def __init__(self, limit: int, wait: float, *, max_depth: int, max_elements: int) -> None:
        self.limit = limit
        self.wait = wait
        self.max_depth = max_depth
        self.max_elements = max_elements
        self._turns = asyncio.Semaphore(limit)

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyGate:
        """The gate ``HTTP_MAX_CONCURRENT_BODIES`` and its neighbours describe."""
        return cls(
            settings.http_max_concurrent_bodies,
            settings.http_body_wait_seconds,
            max_depth=settings.http_max_json_depth,
            max_elements=settings.http_max_json_elements,
        )

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the ``limit`` turns for the block; 503 after ``wait`` seconds."""
        try:
            async with asyncio.timeout(self.wait):
                await self._turns.acquire()
        except TimeoutError:
            raise Problem(
                503,
                f"the server is parsing {self.limit} request bodies already "
                "(HTTP_MAX_CONCURRENT_BODIES): retry shortly",
                headers={"Retry-After": RETRY_AFTER},
            ) from None
        try:
            yield
        finally:
            self._turns.release()

    def __repr__(self) -> str:
        return f"BodyGate(limit={self.limit}, wait={self.wait})"


@asynccontextmanager
async def json_body(request: Request, model: type[M]) -> AsyncIterator[M]:
    """The request's JSON body as ``model``, parsed under a turn of the app's ``BodyGate``.

    Call it once the request's credentials are checked: it is what reads the body.
    """
    if not _declares_json(request.headers.get("content-type")):
        error = {"type": "json_type", "loc": ("body",), "msg": _NOT_JSON, "input": {}}
        raise RequestValidationError([error])
    raw = b"".join([chunk async for chunk in request.stream()])  # not kept on the request
    gate = body_gate(request)
    async with gate.turn():
        value = _parsed(raw, gate) if raw else {}
        del raw
        try:
            body = model.model_validate(value)
        except ValidationError as exc:
            raise RequestValidationError(_located(exc)) from None
        yield body


def body_gate(request: Request) -> BodyGate:
    """The app's ``BodyGate``: ``app.state.body_gate`` if set, else one made once from the
    settings of the app's manager (``install``)."""
    state = request.app.state
    gate: BodyGate | None = getattr(state, "body_gate", None)
    if gate is None:
        gate = state.body_gate = BodyGate.from_settings(manager_of(request).settings)
    return gate


def _declares_json(content_type: str | None) -> bool:
    """No ``Content-Type``, ``application/json`` or ``*/*+json``, as FastAPI accepts: never a
    form's type, which a cross-site page could send."""
    if content_type is None:
        return True
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _parsed(raw: bytes, gate: BodyGate) -> Any:
    try:
        check_json_shape(raw, max_depth=gate.max_depth, max_elements=gate.max_elements)
        return json.loads(raw)
    except JsonShapeError:
        raise
    except (InvalidInputError, ValueError, RecursionError) as exc:  # unpaired, undecodable
        where = ("body", getattr(exc, "pos", 0))
        error = {"type": "json_invalid", "loc": where, "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([error]) from None


def _located(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, located in the body as FastAPI locates them."""
    return [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body of ``model`` that the route reads itself."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
