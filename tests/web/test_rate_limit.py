"""Rate limiting over HTTP, on both backends: the reference service's default limit, the
middleware and the per-route dependency, the draft's headers, 429 problem bodies, proxies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import httpx
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from jeex_cache import CacheManager, RateLimitPolicy, Settings
from jeex_cache.fastapi.rate_limit import RateLimitRule, rate_limit
from jeex_cache.web import create_app


@asynccontextmanager
async def serve(app: FastAPI, peer: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """``app`` in its lifespan, reached from ``peer``."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


def tight(settings: Settings, **changes: object) -> Settings:
    """The settings under test with a default limit of 3 per minute."""
    limits = {"rate_limit_default_requests": 3, "rate_limit_default_window": 60}
    return Settings(redis_url=settings.redis_url, **limits, **changes)


def assert_refused(response: httpx.Response, violated: list[str]) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    body = response.json()
    assert body["type"] == "https://iana.org/assignments/http-problem-types#quota-exceeded"
    assert body["status"] == 429
    assert body["violated-policies"] == violated
    assert body["title"]
    assert body["detail"]


async def test_the_reference_service_limits_each_client_ip(settings: Settings) -> None:
    app = create_app(tight(settings))
    async with serve(app) as client:
        url = f"/projects/{uuid4()}/cache"
        answers = [await client.get(url) for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 401]  # refusals count too
        assert answers[0].headers["ratelimit-policy"] == '"minute";q=3;w=60'
        assert answers[0].headers["ratelimit"] == '"minute";r=2;t=60'
        # t: whole seconds until the first admission leaves the window (real time passes)
        assert [a.headers["ratelimit"][:14] for a in answers[1:]] == [
            '"minute";r=1;t',
            '"minute";r=0;t',
        ]
        refused = await client.put(url, json={"data": 1})
        assert_refused(refused, ["minute"])
        assert refused.headers["ratelimit"].startswith('"minute";r=0;t=')
        health = [await client.get("/health") for _ in range(5)]  # exempt: probes never count
        assert all(h.status_code == 200 for h in health)
        assert "ratelimit" not in health[0].headers
    async with serve(app, peer="192.0.2.77") as other:  # another client, its own quota
        assert (await other.get(url)).status_code == 401


async def test_the_default_limit_can_be_switched_off(settings: Settings) -> None:
    async with serve(create_app(tight(settings, rate_limit_enabled=False))) as client:
        answers = [await client.get(f"/projects/{uuid4()}/cache") for _ in range(5)]
    assert {a.status_code for a in answers} == {401}
    assert "ratelimit" not in answers[-1].headers


async def test_a_spoofed_forwarding_header_buys_no_fresh_quota(settings: Settings) -> None:
    app = create_app(tight(settings, rate_limit_trusted_proxies="10.0.0.0/8"))
    url = f"/projects/{uuid4()}/cache"
    async with serve(app, peer="198.51.100.5") as direct:  # not a proxy of ours
        codes = [
            (await direct.get(url, headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(5)
        ]
    assert codes == [401, 401, 401, 429, 429]
    async with serve(app, peer="10.0.0.2") as proxy:  # our proxy: each client its own quota
        for i in range(4):
            forwarded = {"X-Forwarded-For": f"6.6.6.6, 203.0.113.{i}"}  # a forged hop, ignored
            assert (await proxy.get(url, headers=forwarded)).status_code == 401
        forged = {"X-Forwarded-For": "7.7.7.7, 203.0.113.0"}
        for _ in range(2):
            assert (await proxy.get(url, headers=forged)).status_code == 401
        assert (await proxy.get(url, headers=forged)).status_code == 429  # its 4th


# Per-user and per-project limits need the integration's session dependencies now: their
# cases are in tests/fastapi_integration/test_rate_limit.py.


async def test_the_dependency_alone_still_answers_429(manager: CacheManager) -> None:
    app = FastAPI()
    limit = rate_limit(RateLimitRule.per_ip(RateLimitPolicy.per(minute=1)), manager)

    @app.get("/ping", dependencies=[Depends(limit)])
    async def ping() -> str:
        return "pong"

    async with serve(app) as client:
        assert (await client.get("/ping")).status_code == 200
        refused = await client.get("/ping")
    assert refused.status_code == 429
    assert refused.headers["ratelimit"].startswith('"minute";r=0;t=')
    assert int(refused.headers["retry-after"]) >= 1


async def test_ipv6_clients_of_one_64_share_a_quota(settings: Settings) -> None:
    app = create_app(tight(settings))
    hosts = ["2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff::3", "2001:db8:1:1::4"]
    hosts.append("2001:db8:1:2::1")  # the next /64
    codes = []
    async with app.router.lifespan_context(app):
        for host in hosts:
            transport = httpx.ASGITransport(app=app, client=(host, 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                codes.append((await client.get(f"/projects/{uuid4()}/cache")).status_code)
    assert codes == [401, 401, 401, 429, 401]


class WithoutPeer:
    """Serves ``app`` as a Unix socket server would: no client address in the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": None}
        await self.app(scope, receive, send)


async def test_a_peer_without_an_address_is_limited_not_skipped(settings: Settings) -> None:
    app = create_app(tight(settings))
    url = f"/projects/{uuid4()}/cache"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=WithoutPeer(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = [await client.get(url) for _ in range(4)]
        # uvicorn's proxy headers, when on, write what a forwarding header says: "unknown".
        transport = httpx.ASGITransport(app=app, client=("unknown", 0))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers.append(await client.get(url))
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert answers[0].headers["ratelimit"] == '"minute";r=2;t=60'


async def test_an_unknown_hop_from_a_trusted_proxy_is_limited(settings: Settings) -> None:
    app = create_app(tight(settings, rate_limit_trusted_proxies="10.0.0.0/8"))
    url = f"/projects/{uuid4()}/cache"
    async with serve(app, peer="10.0.0.2") as proxy:
        hops = ["unknown", "_hidden", "", "unknown"]
        codes = [
            (await proxy.get(url, headers={"X-Forwarded-For": hop})).status_code for hop in hops
        ]
        assert codes == [401, 401, 401, 429]  # all counted as the proxy itself
        client = {"X-Forwarded-For": "203.0.113.8"}
        assert (await proxy.get(url, headers=client)).status_code == 401  # its own quota


async def test_a_route_limit_per_ip_beside_the_default_needs_a_name(settings: Settings) -> None:
    """The integration refuses two limits that count in one key: an unnamed per-IP minute of
    a route, beside the service's default per-IP minute, is a 500 that says to name one."""
    app = create_app(tight(settings))
    unnamed = rate_limit(RateLimitRule.per_ip(RateLimitPolicy.per(minute=10)))
    named = rate_limit(RateLimitRule.per_ip(RateLimitPolicy.per(minute=10, name="export")))

    @app.get("/export-unnamed", dependencies=[Depends(unnamed)])
    async def export_unnamed() -> str:
        return "data"

    @app.get("/export", dependencies=[Depends(named)])
    async def export() -> str:
        return "data"

    async with serve(app) as client:
        clash = await client.get("/export-unnamed")
        assert clash.status_code == 500
        assert "give one policy a name" in clash.json()["detail"]
        fine = await client.get("/export")
        assert fine.status_code == 200, fine.text
        assert fine.headers["ratelimit-policy"] == ('"minute";q=3;w=60, "export.minute";q=10;w=60')
