"""Sessions in the reference service: login, cookie and Bearer, 401/404, logout, rotation."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.web import create_app
from tests.web._serve import issuer, serve
from tests.web.conftest import NewProject, log_in
from tests.web.test_app import assert_error, cache_url

COOKIE = "jeex_session"


async def test_login_sets_a_hardened_cookie_and_returns_the_id(
    anonymous: httpx.AsyncClient,
) -> None:
    user, project = uuid4(), uuid4()
    body = {"user_id": str(user), "user_data": {"name": "Jane"}, "project_access": [str(project)]}
    response = await anonymous.post("/sessions", json=body, headers=issuer(anonymous))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user_id"] == str(user)
    assert body["user_data"] == {"name": "Jane"}
    assert body["project_access"] == [str(project)]
    assert len(body["session_id"]) == 43
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={body['session_id']};")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "max-age=86400" in cookie.lower()  # no longer than the absolute lifetime


async def test_the_session_travels_as_bearer_or_cookie(
    anonymous: httpx.AsyncClient, session_id: str
) -> None:
    bearer = await anonymous.get("/sessions/me", headers={"Authorization": f"Bearer {session_id}"})
    assert bearer.status_code == 200, bearer.text
    assert "session_id" not in bearer.json()  # a page script never reads the cookie's value
    del anonymous.headers["Authorization"]
    cookie = await anonymous.get("/sessions/me", headers={"Cookie": f"{COOKIE}={session_id}"})
    assert cookie.status_code == 200, cookie.text
    assert cookie.json()["fingerprint"] == bearer.json()["fingerprint"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sessions/me"),
        ("POST", "/sessions/me/rotate"),
        ("DELETE", "/sessions/me"),
        ("GET", f"/projects/{uuid4()}/cache"),
        ("PUT", f"/projects/{uuid4()}/cache"),
        ("DELETE", f"/projects/{uuid4()}/cache"),
        ("POST", "/tags/pricing/invalidate"),
    ],
)
@pytest.mark.parametrize("token", [None, "A" * 43, "not-a-session", "x" * 5_000])
async def test_no_valid_session_is_401(
    anonymous: httpx.AsyncClient, method: str, path: str, token: str | None
) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await anonymous.request(method, path, json={"data": 1}, headers=headers)
    if method == "DELETE" and path == "/sessions/me" and token is not None:
        assert response.status_code == 204  # logging out of an ended session is not an error
        return
    assert_error(response, 401, "InvalidSession")
    assert response.headers["www-authenticate"].startswith("Bearer")


NOT_GRANTED = "no such project for this session"


async def test_a_project_outside_the_session_is_404_and_untouched(
    client: httpx.AsyncClient, manager: CacheManager, new_project: NewProject
) -> None:
    mine, theirs = await new_project(), uuid4()
    await manager.cache_project_data(theirs, {"owner": "them"}, tags=["pricing"])
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, cache_url(theirs), json={"data": "mine now"})
        assert_error(response, 404, "NotFound")  # as for a project that does not exist
        assert response.json()["detail"] == NOT_GRANTED
    assert (await client.put(cache_url(mine), json={"data": 1, "tags": ["pricing"]})).is_success
    assert (await client.post("/tags/pricing/invalidate")).json() == {"invalidated": 1}
    assert await manager.get_project_data(theirs) == {"owner": "them"}


async def test_a_grant_applies_to_the_next_request(
    client: httpx.AsyncClient, manager: CacheManager, session_id: str
) -> None:
    project = uuid4()
    assert (await client.get(cache_url(project))).json()["detail"] == NOT_GRANTED
    await manager.grant_project_access(session_id, project)
    allowed = await client.get(cache_url(project))  # allowed; nothing cached
    assert allowed.status_code == 404
    assert allowed.json()["detail"] != NOT_GRANTED
    await manager.revoke_project_access(session_id, project)
    assert (await client.get(cache_url(project))).json()["detail"] == NOT_GRANTED


async def test_logout_ends_the_session_and_clears_the_cookie(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    project = await new_project()
    response = await client.delete("/sessions/me")
    assert response.status_code == 204
    assert response.headers["set-cookie"].startswith(f'{COOKIE}="";')
    assert_error(await client.get("/sessions/me"), 401, "InvalidSession")
    assert_error(await client.get(cache_url(project)), 401, "InvalidSession")


async def test_rotation_moves_the_session_to_a_new_id(
    client: httpx.AsyncClient, session_id: str, new_project: NewProject
) -> None:
    project = await new_project()
    response = await client.post("/sessions/me/rotate")
    assert response.status_code == 200, response.text
    new_id = response.json()["session_id"]
    assert new_id != session_id
    assert response.headers["set-cookie"].startswith(f"{COOKIE}={new_id};")
    assert_error(await client.get(cache_url(project)), 401, "InvalidSession")  # old ID: dead
    client.headers["Authorization"] = f"Bearer {new_id}"
    assert (await client.get(cache_url(project))).status_code == 404  # same grants
    assert (await client.get("/sessions/me")).json()["project_access"] == [str(project)]


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "not a uuid"},
        {},
        {"user_id": str(uuid4()), "user_data": ["not", "an", "object"]},
        {"user_id": str(uuid4()), "project_access": ["not a uuid"]},
        {"user_id": str(uuid4()), "session_id": "A" * 43},  # an ID is never chosen by a client
        {"user_id": str(uuid4()), "project_access": [str(uuid4()) for _ in range(1_001)]},
    ],
)
async def test_bad_login_is_422(anonymous: httpx.AsyncClient, body: object) -> None:
    response = await anonymous.post("/sessions", json=body, headers=issuer(anonymous))
    assert_error(response, 422, "RequestValidationError")
    assert "set-cookie" not in response.headers


async def test_oversized_user_data_is_413(settings: Settings) -> None:
    """The manager's own bound holds under a looser HTTP bound."""
    loose = Settings(redis_url=settings.redis_url, session_issuer_max_data_bytes=1_048_576)
    async with serve(create_app(loose)) as client:
        body = {"user_id": str(uuid4()), "user_data": {"blob": "x" * 20_000}}
        response = await client.post("/sessions", json=body, headers=issuer(client))
    assert_error(response, 413, "PayloadTooLargeError")
    assert "CACHE_SESSION_MAX_DATA_BYTES" in response.json()["detail"]


async def test_cookie_settings_are_honoured() -> None:
    settings = Settings(
        redis_url=None, cache_session_cookie_name="sid", cache_session_cookie_secure=False
    )
    async with serve(create_app(settings)) as client:
        body = {"user_id": str(uuid4())}
        response = await client.post("/sessions", json=body, headers=issuer(client))
        assert response.headers["set-cookie"].startswith("sid=")
        assert "secure" not in response.headers["set-cookie"].lower()
        # Not Secure, so the client's cookie jar sends it back over plain http.
        assert (await client.get("/sessions/me")).status_code == 200


async def test_openapi_lists_the_session_endpoints(anonymous: httpx.AsyncClient) -> None:
    paths = (await anonymous.get("/openapi.json")).json()["paths"]
    assert set(paths["/sessions"]) == {"post"}
    assert set(paths["/sessions/me"]) == {"get", "delete"}
    assert set(paths["/sessions/me/rotate"]) == {"post"}
    assert "issuer token" in paths["/sessions"]["post"]["summary"]


async def test_log_in_helper_works_with_a_user_of_ones_choice(
    anonymous: httpx.AsyncClient,
) -> None:
    user = uuid4()
    await log_in(anonymous, user=user)
    assert (await anonymous.get("/sessions/me")).json()["user_id"] == str(user)


async def test_string_and_int_ids_through_the_service(anonymous: httpx.AsyncClient) -> None:
    body = {"user_id": 7, "project_access": ["acme", 1]}
    response = await anonymous.post("/sessions", json=body, headers=issuer(anonymous))
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == "7"
    assert sorted(response.json()["project_access"]) == ["1", "acme"]
    anonymous.headers["Authorization"] = f"Bearer {response.json()['session_id']}"
    stored = await anonymous.put(cache_url("acme"), json={"data": {"plan": "pro"}})
    assert stored.status_code == 200, stored.text
    entry = await anonymous.get(cache_url("acme"))
    assert entry.json()["project_id"] == "acme"
    assert entry.json()["data"] == {"plan": "pro"}
    assert (await anonymous.get(cache_url("1"))).status_code == 404  # granted, nothing cached
    for other in ("01", "ACME", "acme.", "-1"):
        assert_error(await anonymous.get(cache_url(other)), 404, "NotFound")


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "-1"},
        {"user_id": -1},
        {"user_id": True},
        {"user_id": 1.5},
        {"user_id": "x" * 65},
        {"user_id": "u1", "project_access": [".."]},
        {"user_id": "u1", "project_access": ["a:b"]},
    ],
)
async def test_ids_the_rules_refuse_are_422_without_echo(
    anonymous: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await anonymous.post("/sessions", json=body, headers=issuer(anonymous))
    assert_error(response, 422, "RequestValidationError")
    assert "x" * 65 not in response.text
