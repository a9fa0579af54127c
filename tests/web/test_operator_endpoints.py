"""Probes and the scraper: exempt from the default per-IP limit, ``/metrics`` behind a token."""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from jeex_cache import Settings
from jeex_cache.fastapi.rate_limit import EXEMPT_PATHS
from jeex_cache.web import create_app
from tests.web._serve import serve
from tests.web.test_app import assert_error

METRICS_TOKEN = "scrape-" + "m" * 40


def tight(settings: Settings, **changes: Any) -> Settings:
    """The backend under test, with a default limit of 3 requests a minute per IP."""
    limits = {"rate_limit_default_requests": 3, "rate_limit_default_window": 60}
    return Settings(redis_url=settings.redis_url, **limits, **changes)


def test_the_defaults_exempt_probes_metrics_and_docs() -> None:
    assert {"/health", "/metrics", "/docs", "/openapi.json"} <= EXEMPT_PATHS
    assert Settings(redis_url=None).rate_limit_exempt == EXEMPT_PATHS


async def test_a_scraper_and_a_probe_are_never_locked_out(settings: Settings) -> None:
    async with serve(create_app(tight(settings))) as client:
        scrapes = [await client.get("/metrics") for _ in range(10)]
        probes = [await client.get("/health") for _ in range(10)]
        assert {r.status_code for r in scrapes + probes} == {200}
        assert "ratelimit" not in scrapes[-1].headers
        # The quota is untouched: the API still has all three requests.
        codes = [(await client.get("/sessions/me")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


async def test_the_exemptions_are_configurable(settings: Settings) -> None:
    changes = {"rate_limit_exempt_paths": "/health, /sessions/me"}
    async with serve(create_app(tight(settings, **changes))) as client:
        assert {(await client.get("/sessions/me")).status_code for _ in range(5)} == {401}
        scrapes = [(await client.get("/metrics")).status_code for _ in range(4)]
        assert scrapes == [200, 200, 200, 429]  # no longer exempt
        assert (await client.get("/health")).status_code == 200


async def test_metrics_need_the_token_once_one_is_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[bytes] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return compare(a, b)

    monkeypatch.setattr("jeex_cache.web.credentials.hmac.compare_digest", spy)
    configured = Settings(redis_url=settings.redis_url, metrics_token=METRICS_TOKEN)
    async with serve(create_app(configured)) as client:
        for headers in ({}, {"Authorization": "Bearer " + "m" * 47}, {"Authorization": "x"}):
            response = await client.get("/metrics", headers=headers)
            assert_error(response, 401, "Unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
            assert "METRICS_TOKEN" in response.json()["detail"]
            assert METRICS_TOKEN not in response.text
        scrape = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scrape.status_code == 200, scrape.text
        assert "jeex_cache_operations_total" in scrape.text
        assert (await client.get("/health")).status_code == 200  # probes need no token
    assert len(compared) == 2  # the two Bearer attempts, each compared in constant time


async def test_metrics_are_open_without_a_token(settings: Settings) -> None:
    async with serve(create_app(Settings(redis_url=settings.redis_url))) as client:
        assert (await client.get("/metrics")).status_code == 200
