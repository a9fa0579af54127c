"""``lifespan`` and ``install``: the manager opened and closed with the app, typed errors as
problem documents."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI, Request

from jeex_cache import (
    AccessDenied,
    BackendError,
    CacheManager,
    ConfigurationError,
    InvalidIdentifierError,
    MemoryLimitError,
    NotInitializedError,
    Settings,
)
from jeex_cache.fastapi import install, lifespan
from jeex_cache.fastapi.testclient import LifespanError
from tests.fastapi_integration.conftest import new_app, serve


async def test_lifespan_opens_the_manager_around_the_apps_own() -> None:
    manager = CacheManager(Settings(redis_url=None))
    seen: list[str] = []

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        await manager.cache_project_data(PROJECT, {"ready": True})  # the manager is open
        seen.append("start")
        yield {"greeting": "hello"}
        seen.append("stop")

    app = FastAPI(lifespan=lifespan(manager, own))
    install(app, manager)

    @app.get("/")
    async def root(request: Request) -> dict[str, Any]:
        return {"greeting": request.state.greeting, "data": await manager.get_project_data(PROJECT)}

    async with serve(app) as client:
        response = await client.get("/")
        assert response.json() == {"greeting": "hello", "data": {"ready": True}}
    assert seen == ["start", "stop"]
    with pytest.raises(NotInitializedError):
        await manager.cache_project_data(PROJECT, {})  # closed with the app


PROJECT = "6f1d6a52-58f4-4a4c-9d0d-4c6a3b0d1e11"


@pytest.mark.parametrize(
    ("error", "status", "header"),
    [
        (InvalidIdentifierError("bad project id"), 422, None),
        (AccessDenied("no", reason=AccessDenied.INVALID_SESSION), 401, "www-authenticate"),
        (AccessDenied("no", reason=AccessDenied.PROJECT_NOT_GRANTED), 404, None),
        (AccessDenied("down", reason=AccessDenied.UNAVAILABLE), 503, "retry-after"),
        (BackendError("redis is down"), 503, "retry-after"),
        (MemoryLimitError("the embedded backend is full"), 503, "retry-after"),
        (ConfigurationError("the route has no project_id"), 500, None),
    ],
)
async def test_typed_errors_are_problem_documents(
    manager: CacheManager, error: Exception, status: int, header: str | None
) -> None:
    app = new_app(manager)

    @app.get("/fail")
    async def fail() -> None:
        raise error

    async with serve(app) as client:
        response = await client.get("/fail")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    if header is not None:
        assert response.headers[header]
    if status == 500:
        assert "project_id" in body["detail"]


async def test_request_validation_is_a_422_problem(manager: CacheManager) -> None:
    app = new_app(manager)

    @app.get("/items/{number}")
    async def item(number: int) -> int:
        return number

    async with serve(app) as client:
        response = await client.get("/items/seven")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["path", "number"]


def test_the_library_imports_no_fastapi() -> None:
    code = (
        "import sys, jeex_cache, jeex_cache.manager, jeex_cache.tasks.worker\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette')"
        " or m.startswith('jeex_cache.fastapi')], sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_app_client_says_why_the_app_did_not_start() -> None:
    @asynccontextmanager
    async def broken(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no database configured")
        yield

    app = FastAPI(lifespan=broken)
    with pytest.raises(LifespanError, match="no database configured"):
        async with serve(app):
            pass
