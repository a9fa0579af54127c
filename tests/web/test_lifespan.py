"""``create_app``'s lifespan owns the manager's lifecycle; a request before it is a 503."""

from __future__ import annotations

import httpx
import pytest

from jeex_cache import CacheManager, NotInitializedError, Settings
from jeex_cache.web import create_app
from tests.web._serve import serve


async def test_lifespan_initialises_and_closes_the_manager() -> None:
    manager = CacheManager(Settings(redis_url=None))
    async with serve(create_app(manager=manager)) as client:
        assert (await client.get("/health")).status_code == 200
    with pytest.raises(NotInitializedError):
        await manager.health_check()


async def test_request_before_startup_is_503_json() -> None:
    app = create_app(Settings(redis_url=None))
    transport = httpx.ASGITransport(app=app)  # no lifespan: the manager is not initialised
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["error"] == "NotInitializedError"


def test_settings_and_manager_are_exclusive() -> None:
    settings = Settings(redis_url=None)
    with pytest.raises(ValueError, match="not both"):
        create_app(settings, manager=CacheManager(settings))
