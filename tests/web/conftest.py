"""Fixtures of the web tests: the reference app over the ``manager`` of the backend matrix.

The HTTP layer is the same on every topology, so the web tests run on the embedded backend
and one Redis server; the contract suite (tests/contract) runs on Sentinel and Cluster too.

``client`` carries a session (``Authorization: Bearer``) that may access no project until a
test asks ``new_project()`` for one; ``anonymous`` carries none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from jeex_cache import CacheManager
from jeex_cache.web import create_app
from tests.web._serve import issuer, serve

NewProject = Callable[[], Awaitable[UUID]]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: the web layer's matrix."""
    name: str = request.param
    return name


@pytest.fixture
def app(manager: CacheManager) -> FastAPI:
    """The reference service over the backend under test."""
    return create_app(manager=manager)


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of ``app``, inside the app's lifespan, without a session."""
    async with serve(app) as http:
        yield http


async def log_in(client: httpx.AsyncClient, *projects: UUID, user: UUID | None = None) -> str:
    """``POST /sessions`` for ``projects`` (with the issuer token); the client then sends the
    session as Bearer."""
    body = {"user_id": str(user or uuid4()), "project_access": [str(p) for p in projects]}
    response = await client.post("/sessions", json=body, headers=issuer(client))
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    client.headers["Authorization"] = f"Bearer {session_id}"
    return session_id


@pytest.fixture
async def session_id(anonymous: httpx.AsyncClient) -> str:
    """A session of ``client`` (no project granted yet)."""
    return await log_in(anonymous)


@pytest.fixture
def client(anonymous: httpx.AsyncClient, session_id: str) -> httpx.AsyncClient:
    """``anonymous`` carrying the session ``session_id``."""
    return anonymous


@pytest.fixture
def new_project(manager: CacheManager, session_id: str) -> NewProject:
    """A fresh project ID that the client's session may access."""

    async def grant() -> UUID:
        project = uuid4()
        assert await manager.grant_project_access(session_id, project)
        return project

    return grant
