"""The example app's tests, on memory and on a real Redis (``pytest examples/fastapi_app``).

They use jeex-cache's pytest plugin: ``jeex_manager`` and ``redis_server``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from examples.fastapi_app.app import ACME, GLOBEX, QUERIES, create_app
from jeex_cache import CacheManager, Settings
from jeex_cache.fastapi.testclient import app_client
from jeex_cache.testing import RedisServer


@pytest.fixture(params=["memory", "redis"])
async def manager(
    request: pytest.FixtureRequest, jeex_manager: CacheManager
) -> AsyncIterator[CacheManager]:
    """The in-memory manager of the plugin, or one on the plugin's real redis-server."""
    if request.param == "memory":
        yield jeex_manager
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    with redis.Redis.from_url(server.url) as raw:
        raw.flushall()  # one server for the session: each test starts empty
    async with CacheManager(Settings(redis_url=server.url)) as redis_manager:
        yield redis_manager


@pytest.fixture
async def client(manager: CacheManager) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app inside its lifespan (https, for the Secure session cookie)."""
    async with app_client(create_app(manager), base_url="https://testserver") as http:
        yield http


async def log_in(client: httpx.AsyncClient, user: str = "ada", password: str = "lovelace") -> int:
    response = await client.post("/login", json={"username": user, "password": password})
    return response.status_code


async def test_login_sets_a_secure_http_only_cookie(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", json={"username": "ada", "password": "lovelace"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert await log_in(client, password="wrong") == 401


async def test_project_routes_need_a_session_and_the_right(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/projects/{ACME}/report")).status_code == 401
    assert await log_in(client, "bob", "builder") == 200
    assert (await client.get(f"/projects/{ACME}/report")).status_code == 404  # not bob's
    assert (await client.get(f"/projects/{GLOBEX}/report")).status_code == 200
    assert (await client.post("/logout")).status_code == 204
    assert (await client.get(f"/projects/{GLOBEX}/report")).status_code == 401


async def test_a_project_slug_is_exact(client: httpx.AsyncClient) -> None:
    await log_in(client)
    assert (await client.get(f"/projects/{ACME}/report")).status_code == 200
    for other in (ACME.upper(), f"{ACME}.", "-acme", "acme%3Ax"):
        assert (await client.get(f"/projects/{other}/report")).status_code == 404


async def test_the_report_is_cached_with_an_etag_until_it_is_updated(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client)
    before = QUERIES["report"]
    first = await client.get(f"/projects/{ACME}/report")
    etag = first.headers["etag"]
    again = await client.get(f"/projects/{ACME}/report", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert QUERIES["report"] == before + 1
    await client.put(f"/projects/{ACME}/report", json={"title": "Acme 2"})
    updated = await client.get(f"/projects/{ACME}/report", headers={"If-None-Match": etag})
    assert updated.status_code == 200
    assert updated.json()["title"] == "Acme 2"
    assert updated.headers["etag"] != etag


async def test_login_is_limited_per_ip(client: httpx.AsyncClient) -> None:
    statuses = [await log_in(client, password="guess") for _ in range(6)]
    assert statuses == [401] * 5 + [429]


async def test_a_job_runs_on_the_worker_and_its_progress_streams(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client)
    job = (await client.post(f"/projects/{ACME}/jobs")).json()
    page = await client.get(job["page"])
    assert "EventSource" in page.text
    async with asyncio.timeout(10):  # the stream ends with the job's last event
        events = await client.get(f"{job['page']}/events")
    kinds = [line.split(": ")[1] for line in events.text.splitlines() if line.startswith("event")]
    assert kinds[0] == "started"
    assert kinds[-1] == "completed"
    assert (await client.get(f"/projects/{GLOBEX}/jobs/{job['job_id']}/events")).status_code == 404
