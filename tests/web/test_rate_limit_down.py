"""Rate limiting over HTTP while Redis is down: requests pass (fail open, no made-up headers),
or get 503 with ``Retry-After`` when ``RATE_LIMIT_FAIL_CLOSED`` is set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from jeex_cache import CacheManager, RateLimitPolicy, Settings
from jeex_cache.fastapi.rate_limit import RateLimitRule, install_rate_limiting
from jeex_cache.testing import RedisServer

pytestmark = pytest.mark.redis_only


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A redis-server of this test alone, free to be killed."""
    with RedisServer.start() as server:
        yield server


@asynccontextmanager
async def app_over(server: RedisServer, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    timeouts = {"redis_socket_timeout": 0.3, "redis_connect_timeout": 0.3}
    manager = CacheManager(Settings(redis_url=server.url, **timeouts, **settings))
    app = FastAPI()
    install_rate_limiting(app, manager, [RateLimitRule.per_ip(RateLimitPolicy.per(minute=5))])

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    transport = httpx.ASGITransport(app=app)
    async with manager, httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_requests_pass_while_rate_limiting_is_down(own_server: RedisServer) -> None:
    async with app_over(own_server) as client:
        assert "ratelimit" in (await client.get("/ping")).headers
        own_server.kill()
        response = await client.get("/ping")
    assert response.status_code == 200
    assert "ratelimit" not in response.headers
    assert "ratelimit-policy" not in response.headers


async def test_fail_closed_answers_503(own_server: RedisServer) -> None:
    async with app_over(own_server, rate_limit_fail_closed=True) as client:
        own_server.kill()
        response = await client.get("/ping")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["type"].endswith("#temporary-reduced-capacity")
    assert body["status"] == 503
