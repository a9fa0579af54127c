"""A password rotated under the running service: no 500 anywhere, and /metrics still scrapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer
from jeex_cache.web import create_app
from tests.web._serve import issuer, serve

pytestmark = pytest.mark.redis_only

ISSUER = "issuer-token-of-the-refused-credentials-test"


Served = tuple[httpx.AsyncClient, RedisServer]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """A client of the service, and the redis-server of this test alone behind it."""
    with RedisServer.start() as server:
        settings = Settings(
            redis_url=server.url, metrics_queues="emails", session_issuer_token=ISSUER,
            redis_socket_timeout=0.3, redis_connect_timeout=0.3,
        )  # fmt: skip
        async with CacheManager(settings) as manager, serve(create_app(manager=manager)) as http:
            yield http, server


async def test_a_rotated_password_is_an_outage_not_a_500(served: Served) -> None:
    client, own_server = served
    operator = {"Authorization": f"Bearer {ISSUER}"}
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/ui/api/overview", headers=operator)).status_code == 200

    admin = redis.Redis(port=own_server.port)
    admin.config_set("requirepass", "rotated")
    admin.client_kill_filter(_type="normal", skipme=True)
    admin.close()

    login = await client.post("/sessions", json={"user_id": str(uuid4())}, headers=issuer(client))
    assert login.status_code == 503, login.text
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200, scrape.text
    assert (
        'jeex_cache_operation_errors_total{family="session",operation="create_user_session"} 1.0'
        in scrape.text
    )
    overview = await client.get("/ui/api/overview", headers=operator)
    assert overview.status_code == 200, overview.text
    [queue] = overview.json()["queues"]
    assert queue["pending"] is None
    assert queue["error"]  # the backend's failure, said (NOAUTH, or the breaker it opened)
