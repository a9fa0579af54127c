"""``FailedCredentialLimit`` in your own app: session IDs that are not live are counted per
address (``require_session`` marks them), and a guessing address is turned away."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from jeex_cache import CacheManager, Settings, UserSession
from jeex_cache.fastapi import FailedCredentialLimit, credential_failed, require_session
from tests.fastapi_integration.conftest import bearer, new_app, serve

Session = Annotated[UserSession, Depends(require_session)]
FAILURES = 3


def guarded_app(manager: CacheManager) -> FastAPI:
    app = new_app(manager)
    app.add_middleware(FailedCredentialLimit, manager=manager, login_paths=["/login"])

    @app.get("/me")
    async def me(session: Session) -> dict[str, str]:
        return {"user": str(session.user_id)}

    @app.post("/login")
    async def login(request: Request) -> JSONResponse:
        credential_failed(request)  # your password check said no
        return JSONResponse({"detail": "wrong password"}, status_code=401)

    return app


async def test_unlive_sessions_are_counted_then_the_address_is_turned_away(
    settings: Settings,
) -> None:
    tight = settings.model_copy(update={"http_credential_failures": FAILURES})
    async with CacheManager(tight) as manager:
        good = await bearer(manager)
        async with serve(guarded_app(manager)) as client:
            assert (await client.get("/me", headers=good)).status_code == 200
            guess = {"Authorization": "Bearer not-a-live-session"}
            for _ in range(FAILURES):
                assert (await client.get("/me", headers=guess)).status_code == 401
            refused = await client.get("/me", headers=good)  # even a right one, now
            assert refused.status_code == 429
            assert refused.json()["error"] == "TooManyFailedCredentials"
            assert int(refused.headers["retry-after"]) >= 1
            assert (await client.post("/login")).status_code == 429  # a login form too
            assert (await client.get("/openapi.json")).status_code == 200  # no credential


async def test_a_login_route_marks_its_own_failures(settings: Settings) -> None:
    tight = settings.model_copy(update={"http_credential_failures": FAILURES})
    async with CacheManager(tight) as manager, serve(guarded_app(manager)) as client:
        for _ in range(FAILURES):
            assert (await client.post("/login")).status_code == 401
        assert (await client.post("/login")).status_code == 429
