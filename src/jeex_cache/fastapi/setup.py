"""Plugging a ``CacheManager`` into a FastAPI app: ``lifespan`` and ``install``.

    manager = CacheManager()
    app = FastAPI(lifespan=lifespan(manager))
    install(app, manager)

``lifespan`` opens the manager when the app starts and closes it when it stops, around the
app's own lifespan if it has one. ``install`` stores the manager where the dependencies look
for it and adds the problem+json error handlers (``jeex_cache.fastapi.problems``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from jeex_cache.fastapi._app import manager_of, remember
from jeex_cache.fastapi.problems import install_problem_handlers
from jeex_cache.fastapi.rate_limit import RateLimitMiddleware
from jeex_cache.fastapi.rate_limit_http import RateLimitExceeded, handle_rate_limit_exceeded
from jeex_cache.manager import CacheManager

__all__ = ["Lifespan", "install", "lifespan", "manager_of"]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, Any]]]
InnerLifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def lifespan(manager: CacheManager, inner: InnerLifespan | None = None) -> Lifespan:
    """``FastAPI(lifespan=lifespan(manager))``: open ``manager`` at startup, close it at
    shutdown. ``inner``, the app's own lifespan, runs inside (the manager is open for it);
    the state it yields reaches ``request.state`` as usual."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        remember(app.state, manager)
        await manager.initialize()
        try:
            if inner is None:
                yield {}
            else:
                async with inner(app) as state:
                    yield state or {}
        finally:
            await manager.close()

    return run


def install(app: FastAPI, manager: CacheManager) -> None:
    """Store ``manager`` for the dependencies, add the problem+json error handlers, and the
    middleware that puts the ``RateLimit`` headers of ``rate_limit`` checks on responses."""
    remember(app.state, manager)
    install_problem_handlers(app)
    app.add_exception_handler(RateLimitExceeded, handle_rate_limit_exceeded)
    # No rules: it only adds the RateLimit headers of the routes' rate_limit() checks.
    app.add_middleware(RateLimitMiddleware, manager=manager)
