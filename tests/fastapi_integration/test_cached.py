"""``@cached``: one route call per key, ETag and 304, invalidation, users kept apart."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from jeex_cache import CacheManager, Settings, UserSession
from jeex_cache.fastapi import cached, require_project_access
from jeex_cache.testing import free_port
from tests.conftest import Elapse
from tests.fastapi_integration.conftest import bearer, new_app, serve

ProjectSession = Annotated[UserSession, Depends(require_project_access())]


class ReportApp:
    """An app with cached routes that count their calls."""

    def __init__(self, manager: CacheManager) -> None:
        self.calls: Counter[str] = Counter()
        self.revision = 0
        self.fail = False
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.app = app = new_app(manager)

        @app.get("/projects/{project_id}/report")
        @cached(60, tags=["reports"], vary=["accept-language"])
        async def report(
            project_id: UUID, session: ProjectSession, request: Request, page: int = 1
        ) -> dict[str, Any]:
            self.calls["report"] += 1
            self.entered.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.fail:
                raise HTTPException(500, "the database is down")
            return {
                "user": str(session.user_id),
                "page": page,
                "revision": self.revision,
                "language": request.headers.get("accept-language"),
            }

        @app.get("/projects/{project_id}/shared")
        @cached(60, per_user=False)
        async def shared(project_id: UUID, session: ProjectSession) -> dict[str, int]:
            self.calls["shared"] += 1
            return {"revision": self.revision}

        @app.get("/projects/{project_id}/brief")
        @cached(1, per_user=False, stale_ttl=30)
        async def brief(project_id: UUID, session: ProjectSession) -> dict[str, int]:
            self.calls["brief"] += 1
            if self.fail:
                raise HTTPException(503, "the database is down")
            return {"revision": self.revision}

        @app.get("/projects/{project_id}/missing")
        @cached(60)
        async def missing(project_id: UUID, session: ProjectSession) -> JSONResponse:
            self.calls["missing"] += 1
            return JSONResponse({"detail": "no report yet"}, status_code=409)

        @app.get("/projects/{project_id}/anonymous")
        @cached(60)
        async def anonymous(project_id: UUID) -> dict[str, str]:
            return {"never": "served"}


@pytest.fixture
def reports(manager: CacheManager) -> ReportApp:
    return ReportApp(manager)


@pytest.fixture
async def client(reports: ReportApp) -> Any:
    async with serve(reports.app) as http:
        yield http


async def test_a_hit_does_not_call_the_route_and_carries_etag_and_max_age(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    first = await client.get(f"/projects/{project}/report", headers=headers)
    second = await client.get(f"/projects/{project}/report", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert reports.calls["report"] == 1
    etag = first.headers["etag"]
    assert etag[0] == etag[-1] == '"'
    assert second.headers["etag"] == etag
    assert first.headers["cache-control"].startswith("private, max-age=")
    assert 55 <= int(first.headers["cache-control"].rsplit("=", 1)[1]) <= 60


async def test_if_none_match_is_304_without_a_body_or_a_route_call(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    etag = (await client.get(f"/projects/{project}/report", headers=headers)).headers["etag"]
    for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(
            f"/projects/{project}/report", headers={**headers, "If-None-Match": validator}
        )
        assert response.status_code == 304, validator
        assert response.content == b""
        assert response.headers["etag"] == etag
    stale = await client.get(
        f"/projects/{project}/report", headers={**headers, "If-None-Match": '"1-old"'}
    )
    assert stale.status_code == 200
    assert reports.calls["report"] == 1


@pytest.mark.parametrize("how", ["tag", "project"])
async def test_an_invalidation_changes_the_etag_on_the_next_request(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient, how: str
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    etag = (await client.get(f"/projects/{project}/report", headers=headers)).headers["etag"]
    if how == "tag":
        assert await manager.invalidate_by_tag("reports") == 1
    else:
        assert await manager.invalidate_project_cache(project) >= 1
    after = await client.get(
        f"/projects/{project}/report", headers={**headers, "If-None-Match": etag}
    )
    assert after.status_code == 200  # same body, but a new fill: the old ETag is not current
    assert after.headers["etag"] != etag
    assert reports.calls["report"] == 2


async def test_the_key_holds_the_query_and_the_vary_headers(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    url = f"/projects/{project}/report"
    pages = [(await client.get(url, params={"page": p}, headers=headers)).json() for p in (1, 2)]
    assert [page["page"] for page in pages] == [1, 2]
    french = await client.get(url, headers={**headers, "Accept-Language": "fr"})
    assert french.json()["language"] == "fr"
    assert french.headers["vary"] == "accept-language"
    assert reports.calls["report"] == 3


async def test_users_never_share_a_body_unless_the_route_says_so(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient
) -> None:
    project = uuid4()
    alice, bob = await bearer(manager, project), await bearer(manager, project)
    url = f"/projects/{project}/report"
    bodies = [(await client.get(url, headers=who)).json()["user"] for who in (alice, bob)]
    assert bodies[0] != bodies[1]
    shared = f"/projects/{project}/shared"
    etags = [(await client.get(shared, headers=who)).headers["etag"] for who in (alice, bob)]
    assert etags[0] == etags[1]
    assert reports.calls["shared"] == 1
    other = uuid4()
    other_headers = await bearer(manager, other)
    await client.get(f"/projects/{other}/shared", headers=other_headers)
    assert reports.calls["shared"] == 2  # another project: its own entry


async def test_a_per_user_route_without_a_user_is_a_500_saying_so(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/projects/{uuid4()}/anonymous")
    assert response.status_code == 500
    assert "per_user=False" in response.json()["detail"]


async def test_errors_are_not_cached(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    for _ in range(2):
        response = await client.get(f"/projects/{project}/missing", headers=headers)
        assert response.status_code == 409
        assert "etag" not in response.headers
    assert reports.calls["missing"] == 2
    reports.fail = True
    for _ in range(2):
        assert (await client.get(f"/projects/{project}/report", headers=headers)).status_code == 500
    assert reports.calls["report"] == 2


async def test_a_cold_key_runs_the_route_once_for_concurrent_requests(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    reports.gate = asyncio.Event()
    requests = [
        asyncio.create_task(client.get(f"/projects/{project}/report", headers=headers))
        for _ in range(50)
    ]
    await reports.entered.wait()
    await asyncio.sleep(0.2)  # let the other requests reach the loader (or find the entry)
    reports.gate.set()
    responses = await asyncio.gather(*requests)
    assert {response.status_code for response in responses} == {200}
    assert len({response.headers["etag"] for response in responses}) == 1
    assert reports.calls["report"] == 1


async def test_expiry_and_stale_if_error(
    manager: CacheManager, reports: ReportApp, client: httpx.AsyncClient, elapse: Elapse
) -> None:
    project = uuid4()
    headers = await bearer(manager, project)
    url = f"/projects/{project}/brief"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    reports.revision = 1
    await elapse(1.2)
    refreshed = await client.get(url, headers=headers)
    assert refreshed.json() == {"revision": 1}
    assert refreshed.headers["etag"] != etag
    reports.fail = True
    await elapse(1.2)  # past the TTL, within stale_ttl: the route fails, the last body is served
    stale = await client.get(url, headers=headers)
    assert stale.status_code == 200
    assert stale.json() == {"revision": 1}
    assert stale.headers["cache-control"] == "private, max-age=0"


@pytest.mark.parametrize("backend", ["redis"])
async def test_with_the_backend_down_the_route_answers_uncached(backend: str) -> None:
    manager = CacheManager(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    app = new_app(manager)
    calls = Counter[str]()

    @app.get("/projects/{project_id}/public")
    @cached(60, per_user=False)
    async def public(project_id: UUID) -> dict[str, int]:
        calls["public"] += 1
        return {"calls": calls["public"]}

    async with serve(app) as client:
        project = uuid4()
        responses = [await client.get(f"/projects/{project}/public") for _ in range(2)]
    assert [r.json() for r in responses] == [{"calls": 1}, {"calls": 2}]
    assert {r.headers["cache-control"] for r in responses} == {"no-store"}
    assert not any("etag" in r.headers for r in responses)


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_cold_key_runs_the_route_once_across_processes(
    settings: Settings, backend: str
) -> None:
    """Two managers on one Redis stand for two processes: their apps share one route call."""
    calls = Counter[str]()
    release = asyncio.Event()

    def process_app(manager: CacheManager) -> FastAPI:
        app = new_app(manager)

        @app.get("/projects/{project_id}/shared")
        @cached(60, per_user=False)
        async def shared(project_id: UUID) -> dict[str, int]:
            calls["shared"] += 1
            await release.wait()
            return {"calls": calls["shared"]}

        return app

    project = uuid4()
    url = f"/projects/{project}/shared"
    async with (
        serve(process_app(CacheManager(settings))) as first,
        serve(process_app(CacheManager(settings))) as second,
    ):
        requests = [asyncio.create_task(c.get(url)) for c in (first, second) for _ in range(10)]
        await asyncio.sleep(0.5)  # every request has reached its process's loader
        release.set()
        responses = await asyncio.gather(*requests)
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["calls"] for r in responses} == {1}
    assert len({r.headers["etag"] for r in responses}) == 1
    assert calls["shared"] == 1
