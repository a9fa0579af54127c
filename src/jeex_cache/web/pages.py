"""The service's pages: an index at ``/``, the live progress page, offline API docs.

Every page and asset is served by the service itself (``jeex_cache/web/static`` and the
Swagger UI / ReDoc files of fastapi-offline), so nothing loads from another host: the pages
work offline and behind a strict proxy. Our own pages carry a ``Content-Security-Policy``
that allows this origin only; the API docs (inline scripts of theirs) one that forbids
framing them (``frame-ancestors 'none'``).

``GET /progress/{id}/view`` has the access rule of ``GET /progress/{id}``: the browser sends
the session cookie (``CACHE_SESSION_COOKIE_NAME``, HttpOnly, set when the application logs the
user in), never a token in the URL, where it would reach access logs and browser history.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from jeex_cache.web.progress import readable
from jeex_cache.web.routes import Manager

__all__ = ["DOCS_HEADERS", "PAGE_HEADERS", "STATIC", "install_pages", "router"]

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

# Swagger UI and ReDoc run inline scripts: their pages may not be framed, at the least.
DOCS_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)

_PAGES = (
    ("/docs", "API reference (Swagger UI)"),
    ("/redoc", "API reference (ReDoc)"),
    ("/openapi.json", "OpenAPI schema"),
    ("/health", "health (JSON)"),
    ("/metrics", "metrics (Prometheus text; JEEX_METRICS_TOKEN when set)"),
    ("/ui", "operations dashboard (issuer token)"),
)


def page(path: Path) -> FileResponse:
    """A page of ``static/`` with the pages' security headers."""
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/")
async def index(request: Request) -> HTMLResponse:
    """A short index of the service's pages."""
    title = html.escape(request.app.title)
    items = "".join(
        f'<li><a href="{path}">{path}</a> <span class="muted">{html.escape(what)}</span></li>'
        for path, what in _PAGES
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title><link rel="stylesheet" href="/static/jeex.css"></head>'
        f"<body><h1>{title}</h1><ul>{items}</ul>"
        '<p class="muted">A tracked operation: <code>/progress/&lt;id&gt;/view</code> '
        "(with a session that may read it).</p></body></html>"
    )
    return HTMLResponse(body, headers=PAGE_HEADERS)


@router.get("/progress/{correlation_id}/view")
async def progress_view(correlation_id: str, manager: Manager, request: Request) -> Response:
    """The live progress page: 401 / 404 / 503 exactly as ``GET /progress/{id}``."""
    state = await readable(request, manager, correlation_id)
    if isinstance(state, JSONResponse):
        return state
    return page(STATIC / "progress.html")


def _docs_routes(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return _framed_by_none(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} · Swagger UI",
                oauth2_redirect_url=redirect,
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="/docs-assets/favicon.png",
            )
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return _framed_by_none(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _framed_by_none(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} · ReDoc",
                redoc_js_url="/docs-assets/redoc.standalone.js",
                redoc_favicon_url="/docs-assets/favicon.png",
                with_google_fonts=False,
            )
        )


def _framed_by_none(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(DOCS_HEADERS)
    return response


def install_pages(app: FastAPI) -> None:
    """Mount the assets and add the pages (the app is built with ``docs_url=None``)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    _docs_routes(app)
    app.include_router(router)
