"""``async with app_client(app) as client``: an httpx client of an app, inside its lifespan.

httpx's ``ASGITransport`` sends requests only: it never runs the app's lifespan, so a
manager opened by ``lifespan(manager)`` would stay closed. ``app_client`` runs the ASGI
lifespan protocol itself (startup, then shutdown when the block ends, the lifespan's
state passed to every request as a server would), on the test's own event loop, so the
app shares the loop of your async fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LifespanError", "app_client"]


class LifespanError(RuntimeError):
    """The app's lifespan failed to start or to stop (its message says why)."""


@asynccontextmanager
async def app_client(
    app: ASGIApp,
    *,
    base_url: str = "http://testserver",
    client: tuple[str, int] = ("127.0.0.1", 40_000),
    **options: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app``, yield an ``httpx.AsyncClient`` of it from peer ``client``, stop it.

    ``options`` go to ``httpx.AsyncClient`` (``headers``, ``cookies``, ``follow_redirects``).
    """
    state: dict[str, Any] = {}
    async with _lifespan(app, state):

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state)}, receive, send)

        transport = httpx.ASGITransport(app=with_state, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, **options) as http:
            yield http


@asynccontextmanager
async def _lifespan(app: ASGIApp, state: dict[str, Any]) -> AsyncIterator[None]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}

    async def run() -> None:
        await app(scope, inbox.get, outbox.put)

    task = asyncio.create_task(run())
    try:
        await inbox.put({"type": "lifespan.startup"})
        await _expect(outbox, task, "lifespan.startup.complete")
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await _expect(outbox, task, "lifespan.shutdown.complete")
        await task


async def _expect(outbox: asyncio.Queue[Message], task: asyncio.Task[None], kind: str) -> None:
    reply = asyncio.ensure_future(outbox.get())
    await asyncio.wait([reply, task], return_when=asyncio.FIRST_COMPLETED)
    if not reply.done():
        reply.cancel()
        task.result()  # the app raised: its error
        raise LifespanError(f"the app ended its lifespan without {kind}")
    message = reply.result()
    if message["type"] != kind:
        raise LifespanError(str(message.get("message") or message["type"]))
