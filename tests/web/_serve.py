"""``async with serve(app) as client``: run an app's lifespan and talk HTTP to it in process.

``issuer(client)`` is the header that lets ``client`` issue sessions (``POST /sessions``) on
the app it was served: the app's issuer token, generated when the app was built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

import httpx
from fastapi import FastAPI

__all__ = ["issuer", "serve"]

_APPS: WeakKeyDictionary[httpx.AsyncClient, FastAPI] = WeakKeyDictionary()


@asynccontextmanager
async def serve(
    app: FastAPI, peer: tuple[str, int] = ("127.0.0.1", 40_000)
) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` (its lifespan), yield a client of it reached from ``peer``, shut it down."""
    transport = httpx.ASGITransport(app=app, client=peer)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        _APPS[client] = app
        yield client


def issuer(client: httpx.AsyncClient) -> dict[str, str]:
    """The ``Authorization`` header carrying the issuer token of ``client``'s app."""
    return {"Authorization": f"Bearer {_APPS[client].state.session_issuer.token}"}
