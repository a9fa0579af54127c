"""The operator's door, on both backends: failed credentials limited on every path, crafted
login cookies refused with 401, a logout that revokes, cookie changes only from this origin,
and API docs that no page may frame."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from jeex_cache import CacheManager, Settings
from jeex_cache.web import create_app
from jeex_cache.web.ui import COOKIE
from tests.web._serve import serve

ISSUER = "operator-token-" + "z" * 24
METRICS = "metrics-token-" + "m" * 24
FAILURES = 3
WRONG = {"Authorization": "Bearer " + "w" * 43}
SELF = {"Origin": "http://testserver"}


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[CacheManager]:
    tuned = Settings(
        redis_url=settings.redis_url,
        http_credential_failures=FAILURES,
        session_issuer_token=ISSUER,
        metrics_token=METRICS,
    )
    async with CacheManager(tuned) as manager:
        yield manager


@pytest.fixture
def guarded_app(guarded: CacheManager) -> FastAPI:
    return create_app(manager=guarded)


@pytest.fixture
async def http(guarded_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(guarded_app) as client:
        yield client


def other_peer(app: FastAPI) -> httpx.AsyncClient:
    """A client of the (already started) app from another address."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 40_001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def log_in_operator(http: httpx.AsyncClient) -> str:
    """The dashboard's login cookie value, after a form login with the issuer token."""
    response = await http.post("/ui/login", data={"token": ISSUER}, headers=SELF)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/ui"
    value: str = response.cookies[COOKIE]
    return value


async def session_header(manager: CacheManager) -> dict[str, str]:
    session = await manager.create_user_session(uuid4(), {}, [])
    assert session is not None
    return {"Authorization": f"Bearer {session.session_id}"}


@pytest.mark.parametrize("door", ["overview", "metrics", "issue", "session", "login"])
async def test_failed_credentials_are_limited_on_every_path(
    http: httpx.AsyncClient, guarded_app: FastAPI, guarded: CacheManager, door: str
) -> None:
    body = {"user_id": str(uuid4())}

    async def attempt(client: httpx.AsyncClient, right: bool) -> httpx.Response:
        if door == "overview":
            bearer = {"Authorization": f"Bearer {ISSUER}"} if right else WRONG
            return await client.get("/ui/api/overview", headers=bearer)
        if door == "metrics":
            bearer = {"Authorization": f"Bearer {METRICS}"} if right else WRONG
            return await client.get("/metrics", headers=bearer)
        if door == "issue":
            bearer = {"Authorization": f"Bearer {ISSUER}"} if right else WRONG
            return await client.post("/sessions", json=body, headers=bearer)
        if door == "session":
            bearer = await session_header(guarded) if right else WRONG
            return await client.get("/sessions/me", headers=bearer)
        token = ISSUER if right else "guess-" + "g" * 30
        return await client.post("/ui/login", data={"token": token}, headers=SELF)

    for _ in range(FAILURES):
        assert (await attempt(http, right=False)).status_code in (401, 303)
    refused = await attempt(http, right=True)  # then even a right guess is turned away
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    async with other_peer(http._transport.app) as elsewhere:  # type: ignore[attr-defined]
        assert (await attempt(elsewhere, right=True)).status_code in (200, 201, 303)
    assert (await http.get("/health")).status_code == 200  # no credential: not turned away


@pytest.mark.parametrize(
    "value",
    [
        "\xb2\xb2.deadbeef".encode("latin-1"),
        "\xb2\xb2.deadbeef".encode(),
        b"9" * 5_000 + b".deadbeef",
        "99999999999.\xe9\xe9\xe9".encode(),
        b"",
        b"..",
        b"1.2.3",
    ],
)
async def test_a_malformed_login_cookie_is_401_never_500(
    http: httpx.AsyncClient, value: bytes
) -> None:
    cookie = {b"Cookie": COOKIE.encode() + b"=" + value}
    overview = await http.get("/ui/api/overview", headers=cookie)
    assert overview.status_code == 401, overview.text
    page = await http.get("/ui", headers=cookie)
    assert page.status_code == 303
    url = "/ui/api/queues/q/requeue"
    extra = {b"Origin": b"http://testserver", b"X-Jeex-UI": b"1"}
    requeue = await http.post(url, json={}, headers={**cookie, **extra})
    assert requeue.status_code == 401, requeue.text


async def test_logout_revokes_the_login_everywhere_and_clears_a_secure_cookie(
    http: httpx.AsyncClient,
) -> None:
    value = await log_in_operator(http)
    http.cookies.clear()
    cookie = {"Cookie": f"{COOKIE}={value}"}
    assert (await http.get("/ui/api/overview", headers=cookie)).status_code == 200
    out = await http.post("/ui/logout", headers={**cookie, **SELF})
    assert out.status_code == 303
    cleared = out.headers["set-cookie"]
    assert cleared.startswith((f'{COOKIE}="";', f"{COOKIE}=;"))
    for flag in ("Secure", "HttpOnly", "Path=/ui", "SameSite=strict", "Max-Age=0"):
        assert flag in cleared, cleared
    http.cookies.clear()
    assert (await http.get("/ui/api/overview", headers=cookie)).status_code == 401


@pytest.mark.parametrize(
    "foreign",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
async def test_cookie_changes_come_only_from_this_origin(
    http: httpx.AsyncClient, guarded: CacheManager, foreign: dict[str, str]
) -> None:
    value = await log_in_operator(http)
    http.cookies.clear()
    ui = {"Cookie": f"{COOKIE}={value}", "X-Jeex-UI": "1"}
    url = "/ui/api/queues/q/requeue"
    crossed = await http.post(url, json={}, headers={**ui, **foreign})
    assert crossed.status_code == 403, crossed.text
    assert crossed.json()["error"] == "CrossOriginRefused"
    assert (await http.post(url, json={}, headers={**ui, **SELF})).status_code == 200
    same = {"Sec-Fetch-Site": "same-origin"}
    assert (await http.post(url, json={}, headers={**ui, **same})).status_code == 200

    project = uuid4()
    session = await guarded.create_user_session(uuid4(), {}, [project])
    assert session is not None
    jar = {"Cookie": f"jeex_session={session.session_id}"}
    put = await http.put(f"/projects/{project}/cache", json={"data": 1}, headers={**jar, **foreign})
    assert put.status_code == 403
    ended = await http.delete("/sessions/me", headers={**jar, **foreign})
    assert ended.status_code == 403
    assert await guarded.validate_user_session(str(session.session_id)) is not None
    bearer = {"Authorization": f"Bearer {session.session_id}", **foreign}  # no ambient credential
    assert (
        await http.put(f"/projects/{project}/cache", json={"data": 1}, headers=bearer)
    ).status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_api_docs_may_not_be_framed(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_the_login_form_is_read_up_to_4_kib(http: httpx.AsyncClient) -> None:
    form = {"token": ISSUER, "padding": "p" * 5_000}
    response = await http.post("/ui/login", data=form, headers=SELF)
    assert response.status_code == 413, response.text
    assert COOKIE not in response.cookies


async def test_an_ipv6_network_is_one_guesser(guarded_app: FastAPI) -> None:
    """Failures from one /64 (RATE_LIMIT_IPV6_PREFIX) shut the door on all of it."""
    async with serve(guarded_app, peer=("2001:db8:1:2::1", 40_000)) as first:
        for _ in range(FAILURES):
            assert (await first.get("/ui/api/overview", headers=WRONG)).status_code == 401
        transport = httpx.ASGITransport(app=guarded_app, client=("2001:db8:1:2::99", 40_001))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as sibling:
            right = {"Authorization": f"Bearer {ISSUER}"}
            assert (await sibling.get("/ui/api/overview", headers=right)).status_code == 429
