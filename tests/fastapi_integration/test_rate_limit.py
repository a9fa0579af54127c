"""``rate_limit`` on your routes: identity from the session dependencies, loud when missing,
several limits on one route kept apart."""

from __future__ import annotations

from uuid import uuid4

from fastapi import Depends, FastAPI

from jeex_cache import CacheManager
from jeex_cache.fastapi import RateLimitPolicy, RateLimitRule, rate_limit
from tests.fastapi_integration.conftest import bearer, new_app, serve


def limited(manager: CacheManager, *rules: RateLimitRule, path: str = "/limited") -> FastAPI:
    app = new_app(manager)

    @app.get(path, dependencies=[Depends(rate_limit(rule)) for rule in rules])
    async def route() -> dict[str, bool]:
        return {"ok": True}

    return app


async def test_a_per_user_limit_counts_the_sessions_user(manager: CacheManager) -> None:
    app = limited(manager, RateLimitRule.per_user(RateLimitPolicy.per(minute=1)))
    user = uuid4()
    async with serve(app) as client:
        first, second = await bearer(manager, user=user), await bearer(manager, user=user)
        assert (await client.get("/limited", headers=first)).status_code == 200
        refused = await client.get("/limited", headers=second)  # the same user, another session
        assert refused.status_code == 429
        assert refused.headers["retry-after"]
        assert refused.headers["content-type"] == "application/problem+json"
        assert (await client.get("/limited", headers=await bearer(manager))).status_code == 200


async def test_a_per_user_limit_without_a_session_is_401_never_200(manager: CacheManager) -> None:
    app = limited(manager, RateLimitRule.per_user(RateLimitPolicy.per(minute=1)))
    async with serve(app) as client:
        for _ in range(3):
            assert (await client.get("/limited")).status_code == 401


async def test_a_rule_that_finds_no_identity_is_a_500_saying_what_is_missing(
    manager: CacheManager,
) -> None:
    rule = RateLimitRule.per_user(RateLimitPolicy.per(minute=1), user=lambda request: None)
    async with serve(limited(manager, rule)) as client:
        response = await client.get("/limited")
    assert response.status_code == 500
    assert "found no user" in response.json()["detail"]
    assert "require_session" in response.json()["detail"]


async def test_a_per_project_limit_counts_the_project(manager: CacheManager) -> None:
    project, other = uuid4(), uuid4()
    rule = RateLimitRule.per_project(RateLimitPolicy.per(minute=1))
    app = limited(manager, rule, path="/projects/{project_id}/export")
    async with serve(app) as client:
        headers = await bearer(manager, project, other)
        assert (await client.get(f"/projects/{project}/export", headers=headers)).status_code == 200
        again = await client.get(
            f"/projects/{project}/export", headers=await bearer(manager, project)
        )
        assert again.status_code == 429  # another user, the same project
        assert (await client.get(f"/projects/{other}/export", headers=headers)).status_code == 200
        assert (await client.get(f"/projects/{uuid4()}/export", headers=headers)).status_code == 404


async def test_per_user_and_per_ip_limits_on_one_route_count_apart(manager: CacheManager) -> None:
    per_user = RateLimitRule.per_user(RateLimitPolicy.per(minute=2))
    per_ip = RateLimitRule.per_ip(RateLimitPolicy.per(minute=3))
    async with serve(limited(manager, per_user, per_ip)) as client:
        first = await client.get("/limited", headers=await bearer(manager))
        assert first.status_code == 200
        assert first.headers["ratelimit-policy"] == '"user.minute";q=2;w=60, "ip.minute";q=3;w=60'
        assert first.headers["ratelimit"].startswith('"user.minute";r=1')
        statuses = [
            (await client.get("/limited", headers=await bearer(manager))).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429]  # the IP's third request, then its fourth refused


async def test_two_limits_of_one_key_are_refused_loudly_unless_named(manager: CacheManager) -> None:
    burst = RateLimitRule.per_user(RateLimitPolicy.per(minute=5))
    steady = RateLimitRule.per_user(RateLimitPolicy.per(minute=50))
    async with serve(limited(manager, burst, steady)) as client:
        response = await client.get("/limited", headers=await bearer(manager))
    assert response.status_code == 500
    assert "same key" in response.json()["detail"]

    burst = RateLimitRule.per_user(RateLimitPolicy.per(minute=1, name="burst"))
    async with serve(limited(manager, burst, steady)) as client:
        headers = await bearer(manager)
        assert (await client.get("/limited", headers=headers)).status_code == 200
        assert (await client.get("/limited", headers=headers)).status_code == 429
