"""String and int IDs through the FastAPI integration: access checks, ``@cached`` and limits
by path parameter, with project "1" never answering for project "01"."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from jeex_cache import CacheManager, UserSession
from jeex_cache.fastapi import (
    RateLimitPolicy,
    RateLimitRule,
    cached,
    rate_limit,
    require_project_access,
)
from tests.fastapi_integration.conftest import bearer, new_app, serve

ProjectSession = Annotated[UserSession, Depends(require_project_access())]


def report_app(manager: CacheManager, calls: Counter[str]) -> FastAPI:
    app = new_app(manager)
    per_project = rate_limit(RateLimitRule.per_project(RateLimitPolicy.per(minute=3)))

    @app.get("/projects/{project_id}/report", dependencies=[Depends(per_project)])
    @cached(60, per_user=False)
    async def report(project_id: str, session: ProjectSession, request: Request) -> dict[str, Any]:
        calls[project_id] += 1
        return {"project": project_id, "user": request.state.user_id}

    return app


async def test_slug_and_int_projects_through_access_cache_and_limits(
    manager: CacheManager,
) -> None:
    calls: Counter[str] = Counter()
    async with serve(report_app(manager, calls)) as client:
        headers = await bearer(manager, 1, "acme", user=7)
        first = await client.get("/projects/1/report", headers=headers)
        assert first.status_code == 200
        assert first.json() == {"project": "1", "user": "7"}
        cached_again = await client.get(
            "/projects/1/report", headers={**headers, "If-None-Match": first.headers["etag"]}
        )
        assert cached_again.status_code == 304
        assert (await client.get("/projects/acme/report", headers=headers)).json()["project"] == (
            "acme"
        )
        assert calls == Counter({"1": 1, "acme": 1})
        for other in ("01", "ACME", "acme.", "-1", "..", "a%3Ab", "x" * 65):
            assert (await client.get(f"/projects/{other}/report", headers=headers)).status_code == (
                404
            )
        # The per-project limit (3 a minute) counts project "1" alone.
        assert (await client.get("/projects/1/report", headers=headers)).status_code == 200
        assert (await client.get("/projects/1/report", headers=headers)).status_code == 429
        assert (await client.get("/projects/acme/report", headers=headers)).status_code == 200
