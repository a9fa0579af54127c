"""Fixtures of the integration's tests: an app over the ``manager`` of the backend matrix.

The HTTP layer is the same on every topology, so these tests run on the embedded backend and
one Redis server (the contract suite covers Sentinel and Cluster).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from importlib import metadata
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from jeex_cache import CacheManager, ManualClock, ProjectId, Settings, UserId
from jeex_cache.fastapi import install, lifespan
from jeex_cache.fastapi.testclient import app_client
from tests.web._uvicorn import uvicorn_serving

WAIT = 10.0


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: the web layer's matrix."""
    name: str = request.param
    return name


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings of ``backend`` whose session cookie also travels over plain HTTP."""
    url = None if backend == "memory" else request.getfixturevalue("redis_url")
    return Settings(redis_url=url, cache_session_cookie_secure=False)


@pytest.fixture
async def manager(
    settings: Settings, backend: str, clock: ManualClock
) -> AsyncIterator[CacheManager]:
    """An initialised manager; on Redis with the system clock, which the server's TTLs follow
    (the manual clock drives the embedded backend alone)."""
    async with CacheManager(settings, clock=clock if backend == "memory" else None) as cache:
        yield cache


def new_app(manager: CacheManager) -> FastAPI:
    """An empty app wired to ``manager``: its lifespan and error handlers."""
    app = FastAPI(lifespan=lifespan(manager))
    install(app, manager)
    return app


def serve(app: FastAPI) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield an HTTP client of it."""
    return app_client(app)


def served(app: FastAPI) -> AbstractAsyncContextManager[str]:
    """``app`` served by uvicorn on a free port, with its lifespan; yields its URL."""
    return uvicorn_serving(app)


async def bearer(
    manager: CacheManager, *projects: ProjectId, user: UserId | None = None
) -> dict[str, str]:
    """The header of a fresh session of ``user`` with access to ``projects``."""
    session = await manager.create_user_session(user or uuid4(), {}, projects)
    assert session is not None
    assert session.session_id is not None
    return {"Authorization": f"Bearer {session.session_id}"}


PLUGIN = "jeex_cache.pytest_plugin"


def plugin_pytest_command() -> list[str]:
    """The command that runs pytest with jeex-cache's plugin, as a user's suite gets it."""
    registered = any(
        point.value == PLUGIN for point in metadata.entry_points(group="pytest11")
    )  # once the package declares its entry point, pytest loads the plugin by itself
    load = [] if registered else ["-p", PLUGIN]
    return [sys.executable, "-m", "pytest", *load, "-p", "no:cacheprovider", "-q", "-rs"]
