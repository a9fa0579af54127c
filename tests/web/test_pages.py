"""The service's pages over HTTP: the index, offline docs, the progress page's access rule,
and the dashboard's operator login (its browser behaviour: ``test_browser.py``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from jeex_cache import CacheManager, ManualClock, Settings, TaskStatus
from jeex_cache.web import create_app
from jeex_cache.web.ui import COOKIE
from tests.web._serve import issuer, serve
from tests.web.conftest import log_in

LINKS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ISSUER = "operator-token-" + "y" * 24
QUEUE = "reports"


def same_origin_links(page: str) -> list[str]:
    """Every src/href of ``page``, asserting none names another host."""
    links = LINKS.findall(page)
    for link in links:
        assert link.startswith("/"), link
        assert not link.startswith("//"), link
    assert "https://" not in page
    assert "http://" not in page
    return links


async def test_the_index_lists_the_pages(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    links = same_origin_links(response.text)
    assert {"/docs", "/redoc", "/health", "/metrics", "/ui"} <= set(links)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_api_docs_load_nothing_from_another_host(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 200
    assets = [link for link in same_origin_links(response.text) if link.startswith("/docs-")]
    assert assets
    for asset in assets:
        served = await anonymous.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1_000
    assert "/openapi.json" in response.text


async def test_the_progress_page_has_the_progress_apis_access_rule(
    anonymous: httpx.AsyncClient, manager: CacheManager
) -> None:
    project = uuid4()
    cid = manager.progress_id(uuid4(), project)
    await manager.start_progress_tracking(cid, 2, project_id=project)
    view = f"/progress/{cid}/view"
    assert (await anonymous.get(view)).status_code == 401  # no session
    await log_in(anonymous)  # a session without the project
    assert (await anonymous.get(view)).status_code == 404
    assert (await anonymous.get(f"/progress/{uuid4()}/view")).status_code == 404  # the same
    await log_in(anonymous, project)
    page = await anonymous.get(view)
    assert page.status_code == 200
    assert 'role="progressbar"' in page.text
    assert 'aria-valuenow="0"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in same_origin_links(page.text):
        assert (await anonymous.get(asset)).status_code == 200, asset


async def test_unowned_progress_pages_follow_progress_public(settings: Settings) -> None:
    for public, status in ((False, 404), (True, 200)):
        tuned = Settings(redis_url=settings.redis_url, progress_public=public)
        async with CacheManager(tuned) as manager, serve(create_app(manager=manager)) as client:
            cid = uuid4()
            await manager.start_progress_tracking(cid, 1)
            if not public:
                await log_in(client)
            assert (await client.get(f"/progress/{cid}/view")).status_code == status


@pytest.fixture
async def operated(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    tuned = Settings(
        redis_url=settings.redis_url, metrics_queues=QUEUE, session_issuer_token=ISSUER
    )
    async with (
        CacheManager(tuned, clock=clock) as manager,
        serve(create_app(manager=manager)) as client,
    ):
        yield client


async def test_the_dashboard_needs_the_issuer_token(operated: httpx.AsyncClient) -> None:
    page = await operated.get("/ui")
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login"
    assert (await operated.get("/ui/api/overview")).status_code == 401
    operated.cookies.set(COOKIE, "99999999999.deadbeef")  # a forged login
    assert (await operated.get("/ui/api/overview")).status_code == 401
    operated.cookies.clear()
    refused = await operated.post("/ui/login", content="token=wrong-token-but-long-enough")
    assert refused.headers["location"] == "/ui/login?failed=1"
    assert COOKIE not in refused.cookies

    login = await operated.post("/ui/login", content=f"token={ISSUER}")
    assert login.headers["location"] == "/ui"
    cookie = login.headers["set-cookie"]
    assert ISSUER not in cookie  # a signed expiry, never the token
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert "Secure" in cookie  # CACHE_SESSION_COOKIE_SECURE (this client speaks http: copy it)
    operated.cookies.set(COOKIE, cookie.split(";")[0].partition("=")[2])
    assert (await operated.get("/ui")).status_code == 200
    overview = await operated.get("/ui/api/overview")
    assert overview.status_code == 200
    body = overview.json()
    assert body["health"]["status"] == "healthy"
    assert [q["queue"] for q in body["queues"]] == [QUEUE]

    operated.cookies.clear()  # a script: the issuer token as Bearer
    bearer = {"Authorization": f"Bearer {ISSUER}"}
    assert (await operated.get("/ui/api/overview", headers=bearer)).status_code == 200


async def test_requeue_from_the_dashboard_needs_its_header(operated: httpx.AsyncClient) -> None:
    manager: CacheManager = operated._transport.app.state.jeex_manager  # type: ignore[attr-defined]
    doomed = await manager.enqueue_task(QUEUE, "job", max_attempts=1)
    claim = await manager.claim_task(QUEUE, "w-1", 30.0)
    assert claim.delivery is not None
    await manager.fail_task(claim.delivery, "boom", 0.0)
    overview = (await operated.get("/ui/api/overview", headers=issuer(operated))).json()
    assert [t["task_id"] for t in overview["queues"][0]["dead_tasks"]] == [doomed]

    url = f"/ui/api/queues/{QUEUE}/requeue"
    body = {"task_ids": [doomed]}
    assert (await operated.post(url, json=body)).status_code == 401  # no credential
    no_header = await operated.post(url, json=body, headers=issuer(operated))
    assert no_header.status_code == 403  # what a cross-site form would send
    bad = await operated.post(
        url, json={"task_ids": "x"}, headers={**issuer(operated), "X-Jeex-UI": "1"}
    )
    assert bad.status_code == 422
    done = await operated.post(url, json=body, headers={**issuer(operated), "X-Jeex-UI": "1"})
    assert done.json() == {"queue": QUEUE, "requeued": 1}
    task = await manager.get_task_status(doomed)
    assert task is not None
    assert task.status is TaskStatus.QUEUED
