"""``create_app``: the FastAPI reference service over one ``CacheManager``.

    app = create_app(Settings(redis_url="redis://localhost:6379/0"))
    # uvicorn module:app, or ``jeex-cache serve``

The app's lifespan initialises the manager at start-up and closes it at shutdown. At its
first start it logs the backend (warning that the memory backend is per process) and, when
``SESSION_ISSUER_TOKEN`` is unset, the issuer token it generated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI

from jeex_cache import __version__
from jeex_cache.config import Settings
from jeex_cache.fastapi import install, lifespan
from jeex_cache.fastapi.bodies import BodyGate
from jeex_cache.fastapi.credential_limit import FailedCredentialLimit
from jeex_cache.fastapi.limits import BodySizeLimit, body_limit_for
from jeex_cache.fastapi.rate_limit import install_rate_limiting
from jeex_cache.manager import CacheManager
from jeex_cache.web import multiprocess
from jeex_cache.web.credentials import BearerToken
from jeex_cache.web.errors import install_error_handlers
from jeex_cache.web.metrics import router as metrics_router
from jeex_cache.web.multiprocess import Mirror
from jeex_cache.web.pages import install_pages
from jeex_cache.web.progress import router as progress_router
from jeex_cache.web.routes import router
from jeex_cache.web.same_origin import SameOriginForCookies
from jeex_cache.web.sessions import router as sessions_router
from jeex_cache.web.ui import router as ui_router

__all__ = ["TITLE", "create_app"]

TITLE = "jeex-cache reference service"

logger = logging.getLogger("jeex_cache.web")


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
    settings = cache.settings
    issuer = BearerToken.configured_or_generated(settings.session_issuer_token)
    announced = False

    @asynccontextmanager
    async def mirrored(app: FastAPI) -> AsyncIterator[None]:
        """Inside ``lifespan(manager)``: the start-up lines, and the metrics mirror of a
        multi-process server, while the manager is open."""
        nonlocal announced
        if not announced:
            announced = True
            _announce(cache, issuer)
        mirror = Mirror(cache) if multiprocess.directory() else None
        if mirror is not None:
            mirror.start()
        try:
            yield
        finally:
            if mirror is not None:
                await mirror.stop()

    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=(
            "Per-project cached documents, tag invalidation and health over jeex-cache, "
            "behind sessions with project access rights. POST /sessions needs the issuer "
            "token: your application authenticates users and issues their sessions."
        ),
        lifespan=lifespan(cache, inner=mirrored),
        docs_url=None,  # served with local assets by ``install_pages``
        redoc_url=None,
    )
    install(app, cache)
    install_error_handlers(app)  # the service's error names, failed credentials
    app.state.session_issuer = issuer
    app.state.body_gate = BodyGate.from_settings(settings)
    scrape = settings.metrics_token
    app.state.metrics_token = None if scrape is None else BearerToken(scrape.get_secret_value())
    app.add_middleware(BodySizeLimit, max_bytes=body_limit_for(settings.cache_max_payload_bytes))
    app.include_router(sessions_router)
    # Per client IP, RATE_LIMIT_DEFAULT_*, outside RATE_LIMIT_EXEMPT_PATHS (outermost).
    install_rate_limiting(app, cache, exempt=settings.rate_limit_exempt)
    app.add_middleware(SameOriginForCookies)
    # Failed credentials per client address, on every path (outermost: before any check).
    app.add_middleware(FailedCredentialLimit, manager=cache, login_paths=["/ui/login"])
    app.include_router(router)
    app.include_router(metrics_router)
    app.include_router(progress_router)
    install_pages(app)
    app.include_router(ui_router)
    return app


def _announce(manager: CacheManager, issuer: BearerToken) -> None:
    """The start-up lines: which backend, and a generated issuer token (once, like Jupyter)."""
    settings = manager.settings
    if settings.backend == "memory":
        logger.warning(
            "backend: memory (in process). Each process has its own sessions, rate limits, "
            "cache and progress: run one process, or set REDIS_URL to share them."
        )
    else:
        logger.info("backend: redis (%s)", _where(settings.redis_url))
    if issuer.generated:
        logger.warning(
            "JEEX_SESSION_ISSUER_TOKEN is unset. POST /sessions accepts only this token, generated "
            "for this process: Authorization: Bearer %s",
            issuer.token,
        )


def _where(url: str | None) -> str:
    """Host and port (or socket path) of a backend URL, never its credentials."""
    parts = urlsplit(url or "")
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    if parts.scheme.endswith("+sentinel"):  # the sentinels and the service
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    if parts.scheme.endswith("+cluster"):  # the seed nodes
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{parts.hostname or 'localhost'}:{port or 6379}"
