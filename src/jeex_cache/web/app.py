"""``create_app``: the FastAPI reference service over one ``CacheManager``.

    app = create_app(Settings(redis_url="redis://localhost:6379/0"))
    # uvicorn module:app, or ``jeex-cache serve``

The app's lifespan initialises the manager at start-up and closes it at shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jeex_cache import __version__
from jeex_cache.config import Settings
from jeex_cache.services.cache_manager import CacheManager
from jeex_cache.web.errors import install_error_handlers
from jeex_cache.web.limits import BodySizeLimit, body_limit_for
from jeex_cache.web.metrics import router as metrics_router
from jeex_cache.web.progress import router as progress_router
from jeex_cache.web.rate_limit import install_rate_limiting
from jeex_cache.web.routes import router
from jeex_cache.web.sessions import router as sessions_router

__all__ = ["TITLE", "create_app"]

TITLE = "jeex-cache reference service"


def create_app(settings: Settings | None = None, *, manager: CacheManager | None = None) -> FastAPI:
    """A FastAPI app serving ``manager`` (by default a new ``CacheManager(settings)``).

    Give ``settings`` or ``manager``, not both; with neither, settings come from the
    environment. The lifespan initialises the manager (a no-op if it already is) and closes it.
    """
    if manager is None:
        manager = CacheManager(settings)
    elif settings is not None:
        raise ValueError("pass settings or a manager to create_app, not both")
    cache = manager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await cache.initialize()
        try:
            yield
        finally:
            await cache.close()

    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=(
            "Per-project cached documents, tag invalidation and health over jeex-cache, "
            "behind sessions with project access rights. POST /sessions is a demo login: "
            "real authentication belongs to your application."
        ),
        lifespan=lifespan,
    )
    app.state.manager = cache
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit, max_bytes=body_limit_for(cache.settings.cache_max_payload_bytes)
    )
    app.include_router(sessions_router)
    install_rate_limiting(app, cache)  # per client IP, RATE_LIMIT_DEFAULT_* (outermost)
    app.include_router(router)
    app.include_router(metrics_router)
    app.include_router(progress_router)
    return app
