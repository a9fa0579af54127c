"""The service while Redis is down: health 503, and 503 (not a miss or 0) from the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import httpx
import pytest

from jeex_cache import Settings
from jeex_cache.testing import RedisServer, free_port
from jeex_cache.web import create_app
from tests.web._serve import issuer, serve
from tests.web.conftest import log_in

pytestmark = pytest.mark.redis_only

PROJECT = uuid4()


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A redis-server of this test alone, free to be killed."""
    with RedisServer.start() as server:
        yield server


@pytest.fixture
async def client(own_server: RedisServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service over ``own_server``."""
    async with serve(create_app(Settings(redis_url=own_server.url))) as http:
        await log_in(http, PROJECT)
        yield http


async def test_health_is_503_once_redis_is_killed(
    client: httpx.AsyncClient, own_server: RedisServer
) -> None:
    assert (await client.get("/health")).status_code == 200

    own_server.kill()
    response = await client.get("/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["backend"] == "redis"

    own_server.restart()
    assert (await client.get("/health")).status_code == 200


async def test_routes_answer_503_while_redis_is_down(
    client: httpx.AsyncClient, own_server: RedisServer
) -> None:
    pid = PROJECT
    assert (await client.put(f"/projects/{pid}/cache", json={"data": 1})).status_code == 200
    own_server.kill()

    put = await client.put(f"/projects/{pid}/cache", json={"data": 2})
    assert put.status_code == 503, put.text
    assert put.json()["error"] == "BackendUnavailable"
    assert put.json()["title"] == "Session store unavailable"  # the access check failed closed
    assert (await client.get(f"/projects/{pid}/cache")).status_code == 503
    assert (await client.delete(f"/projects/{pid}/cache")).status_code == 503
    assert (await client.post("/tags/pricing/invalidate")).status_code == 503
    # Sessions fail closed, and say so: 503, never a 401 that would log the user out.
    assert (await client.get("/sessions/me")).status_code == 503
    assert (await client.post("/sessions/me/rotate")).status_code == 503
    assert (await client.delete("/sessions/me")).status_code == 503  # not revoked: retry
    login = await client.post("/sessions", json={"user_id": str(uuid4())}, headers=issuer(client))
    assert login.status_code == 503, login.text
    assert "set-cookie" not in login.headers


async def test_credentials_come_before_the_body_while_redis_is_down(
    client: httpx.AsyncClient, own_server: RedisServer
) -> None:
    """The body is read only once the credentials are checked: a session cannot be, so the
    bad body is never looked at (503); the issuer token needs no backend (then 422)."""
    own_server.kill()
    response = await client.put(f"/projects/{PROJECT}/cache", json={"data": 1, "ttl": -1})
    assert response.status_code == 503
    assert response.json()["title"] == "Session store unavailable"
    login = await client.post("/sessions", json={"user_id": "no body"}, headers=issuer(client))
    assert login.status_code == 422
    assert login.json()["error"] == "RequestValidationError"


async def test_service_starts_degraded_when_redis_is_unreachable() -> None:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with serve(create_app(settings)) as client:
        response = await client.get("/health")
        assert response.status_code == 503, response.text
        assert response.json()["status"] == "unhealthy"
        headers = {"Authorization": "Bearer " + "A" * 43}
        cache = f"/projects/{uuid4()}/cache"
        assert (await client.get(cache, headers=headers)).status_code == 503
        assert (await client.get(cache)).status_code == 401  # no session at all
