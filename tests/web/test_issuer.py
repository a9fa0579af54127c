"""Issuing sessions over HTTP needs the issuer token, and what it issues is bounded."""

from __future__ import annotations

import hmac
import logging
from typing import Any
from uuid import uuid4

import httpx
import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.web import create_app
from jeex_cache.web.credentials import BearerToken
from tests.web._serve import issuer, serve
from tests.web.test_app import assert_error

TOKEN = "issuer-" + "k" * 40


def with_changes(settings: Settings, **changes: Any) -> Settings:
    """The backend under test's settings, with ``changes``."""
    return Settings(redis_url=settings.redis_url, **changes)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wrong-token-of-some-length", f"Basic {TOKEN}", TOKEN],
)
async def test_no_session_is_issued_without_the_issuer_token(
    settings: Settings, authorization: str | None
) -> None:
    async with CacheManager(settings) as manager:
        app = create_app(manager=manager)
        user = uuid4()
        async with serve(app) as client:
            headers = {} if authorization is None else {"Authorization": authorization}
            body = {"user_id": str(user), "project_access": [str(uuid4())]}
            response = await client.post("/sessions", json=body, headers=headers)
            assert_error(response, 401, "Unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
            assert "set-cookie" not in response.headers
            assert "SESSION_ISSUER_TOKEN" in response.json()["detail"]
            assert await manager.list_user_sessions(user) == []


async def test_a_users_session_cannot_issue_sessions(
    anonymous: httpx.AsyncClient, manager: CacheManager
) -> None:
    session = await manager.create_user_session(uuid4(), None, [uuid4()])
    assert session is not None
    victim = uuid4()
    headers = {"Authorization": f"Bearer {session.session_id}"}
    response = await anonymous.post("/sessions", json={"user_id": str(victim)}, headers=headers)
    assert_error(response, 401, "Unauthorized")
    assert await manager.list_user_sessions(victim) == []


async def test_the_configured_token_issues_and_no_other(settings: Settings) -> None:
    app = create_app(with_changes(settings, session_issuer_token=TOKEN))
    assert not app.state.session_issuer.generated
    async with serve(app) as client:
        body = {"user_id": str(uuid4())}
        issued = await client.post(
            "/sessions", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert issued.status_code == 201, issued.text
        other = BearerToken.configured_or_generated(None).token
        refused = await client.post(
            "/sessions", json=body, headers={"Authorization": f"Bearer {other}"}
        )
        assert refused.status_code == 401


async def test_an_unset_token_is_generated_per_app_and_logged_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "jeex_cache.web")
    first, second = create_app(with_changes(settings)), create_app(with_changes(settings))
    token = first.state.session_issuer.token
    assert first.state.session_issuer.generated
    assert len(token) >= 43
    assert token != second.state.session_issuer.token
    for _ in range(2):  # a restarted lifespan announces nothing new
        async with serve(first) as client:
            response = await client.post(
                "/sessions", json={"user_id": str(uuid4())}, headers=issuer(client)
            )
            assert response.status_code == 201, response.text
    assert caplog.text.count(token) == 1
    [record] = [r for r in caplog.records if token in r.getMessage()]
    assert record.levelno == logging.WARNING


async def test_a_configured_token_is_never_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    configured = with_changes(settings, session_issuer_token=TOKEN)
    async with serve(create_app(configured)) as client:
        response = await client.post("/sessions", json={"user_id": "nope"})
        assert response.status_code == 401
        assert TOKEN not in response.text
    assert TOKEN not in caplog.text
    assert "SESSION_ISSUER_TOKEN is unset" not in caplog.text
    assert TOKEN not in repr(configured)
    assert TOKEN not in repr(BearerToken(TOKEN))


async def test_tokens_are_compared_in_constant_time(
    anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr("jeex_cache.web.credentials.hmac.compare_digest", spy)
    header = issuer(anonymous)
    token = header["Authorization"].removeprefix("Bearer ").encode()
    response = await anonymous.post("/sessions", json={"user_id": str(uuid4())}, headers=header)
    assert response.status_code == 201
    assert compared == [(token, token)]  # the presented token against the app's own
    wrong = b"x" * len(token)
    response = await anonymous.post(
        "/sessions",
        json={"user_id": str(uuid4())},
        headers={"Authorization": f"Bearer {wrong.decode()}"},
    )
    assert response.status_code == 401
    assert compared == [(token, token), (wrong, token)]


async def test_the_per_user_cap_holds_over_http(settings: Settings) -> None:
    async with CacheManager(with_changes(settings, cache_max_sessions_per_user=3)) as manager:
        user = uuid4()
        async with serve(create_app(manager=manager)) as client:
            ids = []
            for _ in range(5):
                response = await client.post(
                    "/sessions", json={"user_id": str(user)}, headers=issuer(client)
                )
                assert response.status_code == 201, response.text
                ids.append(response.json()["session_id"])
            assert len(await manager.list_user_sessions(user)) == 3
            live = [await manager.validate_user_session(i) is not None for i in ids]
            assert live == [False, False, True, True, True]


async def test_sessions_issued_over_http_are_bounded(settings: Settings) -> None:
    bounds = {"session_issuer_max_data_bytes": 100, "session_issuer_max_projects": 2}
    async with CacheManager(with_changes(settings, **bounds)) as manager:
        user = uuid4()
        async with serve(create_app(manager=manager)) as client:
            many = {"user_id": str(user), "project_access": [str(uuid4()) for _ in range(3)]}
            response = await client.post("/sessions", json=many, headers=issuer(client))
            assert_error(response, 422, "InvalidInputError")
            assert "SESSION_ISSUER_MAX_PROJECTS" in response.json()["detail"]

            big = {"user_id": str(user), "user_data": {"blob": "x" * 100}}
            response = await client.post("/sessions", json=big, headers=issuer(client))
            assert_error(response, 413, "PayloadTooLargeError")
            assert "SESSION_ISSUER_MAX_DATA_BYTES" in response.json()["detail"]
            assert await manager.list_user_sessions(user) == []  # nothing half-written

            fits = {
                "user_id": str(user),
                "user_data": {"blob": "x" * 80},
                "project_access": [str(uuid4())] * 3 + [str(uuid4())],  # two distinct
            }
            response = await client.post("/sessions", json=fits, headers=issuer(client))
            assert response.status_code == 201, response.text
            # The library's own API is not bound by the HTTP limits.
            projects = [uuid4() for _ in range(3)]
            session = await manager.create_user_session(user, {"blob": "x" * 1_000}, projects)
            assert session is not None
            assert session.project_access == frozenset(projects)
