"""``require_session``, ``require_project_access`` and the session cookie in your own routes."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from uuid import uuid4

import pytest
from fastapi import Depends, FastAPI, Request, Response

from jeex_cache import CacheManager, Settings, UserSession
from jeex_cache.fastapi import (
    clear_session_cookie,
    require_project_access,
    require_session,
    set_session_cookie,
)
from jeex_cache.testing import free_port
from tests.fastapi_integration.conftest import bearer, new_app, serve

Session = Annotated[UserSession, Depends(require_session)]
ProjectSession = Annotated[UserSession, Depends(require_project_access())]


def session_app(manager: CacheManager) -> FastAPI:
    app = new_app(manager)

    @app.get("/me")
    async def me(session: Session, request: Request) -> dict[str, Any]:
        return {"user": str(request.state.user_id), "project": request.state.project_id}

    @app.get("/projects/{project_id}")
    async def project(project_id: str, session: ProjectSession, request: Request) -> dict[str, str]:
        return {"user": str(request.state.user_id), "project": str(request.state.project_id)}

    @app.get("/wired-wrong")
    async def wrong(session: ProjectSession) -> None:
        return None

    @app.post("/login")
    async def login(response: Response) -> dict[str, str]:
        session = await manager.create_user_session(uuid4(), {}, [])
        assert session is not None
        set_session_cookie(response, session, settings=manager.settings)
        return {"ok": "yes"}

    @app.post("/logout")
    async def logout(response: Response) -> None:
        clear_session_cookie(response, settings=manager.settings)

    return app


async def test_no_session_is_401_with_www_authenticate(manager: CacheManager) -> None:
    async with serve(session_app(manager)) as client:
        for headers in (
            {},
            {"Authorization": "Bearer not-a-session"},
            {"Cookie": "jeex_session=x"},
        ):
            response = await client.get("/me", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.headers["content-type"] == "application/problem+json"


async def test_a_bearer_session_sets_the_user(manager: CacheManager) -> None:
    user = uuid4()
    async with serve(session_app(manager)) as client:
        response = await client.get("/me", headers=await bearer(manager, user=user))
    assert response.status_code == 200
    assert response.json() == {"user": str(user), "project": None}


async def test_the_cookie_set_at_login_is_a_session_and_logout_clears_it(
    manager: CacheManager,
) -> None:
    async with serve(session_app(manager)) as client:
        login = await client.post("/login")
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("jeex_session=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Max-Age=86400" in cookie  # the session's absolute lifetime
        assert (await client.get("/me")).status_code == 200  # the client sends the cookie
        logout = await client.post("/logout")
        assert 'jeex_session=""' in logout.headers["set-cookie"]
        assert (await client.get("/me")).status_code == 401


def test_the_cookie_is_secure_by_default() -> None:
    manager = CacheManager(Settings(redis_url=None))
    session = UserSession("an-id", "ab" * 32, uuid4(), {}, frozenset(), *_times())
    response = Response()
    set_session_cookie(response, session, settings=manager.settings)
    assert "Secure" in response.headers["set-cookie"]


def _times() -> tuple[Any, Any, Any, Any]:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return now, now, now + timedelta(minutes=30), now + timedelta(hours=2)


async def test_project_access_is_404_without_the_right(manager: CacheManager) -> None:
    granted, other = uuid4(), uuid4()
    user = uuid4()
    async with serve(session_app(manager)) as client:
        headers = await bearer(manager, granted, user=user)
        allowed = await client.get(f"/projects/{granted}", headers=headers)
        assert allowed.status_code == 200
        assert allowed.json() == {"user": str(user), "project": str(granted)}
        for project in (other, "not a uuid"):
            denied = await client.get(f"/projects/{project}", headers=headers)
            assert denied.status_code == 404
        assert (await client.get(f"/projects/{granted}")).status_code == 401


async def test_project_access_without_the_parameter_says_so(manager: CacheManager) -> None:
    async with serve(session_app(manager)) as client:
        response = await client.get("/wired-wrong", headers=await bearer(manager))
    assert response.status_code == 500
    assert "no path parameter 'project_id'" in response.json()["detail"]


async def test_docs_offer_bearer_and_cookie(manager: CacheManager) -> None:
    async with serve(session_app(manager)) as client:
        schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["HTTPBearer"].items()
    assert schemes["SessionCookie"]["in"] == "cookie"
    assert schemes["SessionCookie"]["name"] == "jeex_session"
    assert schema["paths"]["/me"]["get"]["security"]


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_session_while_redis_is_down_is_503_never_200(backend: str) -> None:
    manager = CacheManager(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    async with serve(session_app(manager)) as client:
        for path in ("/me", f"/projects/{uuid4()}"):
            response = await client.get(
                path, headers={"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
            )
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"]
