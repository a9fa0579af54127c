"""An open ``/progress/{id}/events`` stream stops reading when its access ends, on both backends.

A revocation this process makes closes the stream at once (the keep-alive here is a minute,
longer than any wait of these tests); one it cannot see (another process's) closes it at the
next keep-alive. Either way the last event is ``closed``, with the reason, and no event that
follows the revocation is delivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import httpx
import pytest

from jeex_cache import CacheManager, ManualClock, Settings
from jeex_cache.sessions.model import UserSession
from jeex_cache.web import create_app
from tests.web._uvicorn import uvicorn_serving
from tests.web.test_progress_sse import WAIT, Stream

Revoke = Callable[[CacheManager, UserSession, UUID], Awaitable[object]]


def _session_id(session: UserSession) -> str:
    assert session.session_id is not None
    return session.session_id


REVOCATIONS: dict[str, tuple[Revoke, str]] = {
    "session": (
        lambda m, s, p: m.revoke_user_session(_session_id(s), "logout"),
        "invalid_session",
    ),
    "user": (lambda m, s, p: m.revoke_all_user_sessions(s.user_id, "ban"), "invalid_session"),
    "rotation": (lambda m, s, p: m.rotate_session(_session_id(s)), "invalid_session"),
    "project": (
        lambda m, s, p: m.revoke_project_access(_session_id(s), p),
        "project_not_granted",
    ),
}


@asynccontextmanager
async def watched(
    settings: Settings, clock: ManualClock, keepalive: float
) -> AsyncIterator[tuple[CacheManager, str]]:
    """The backend under test behind uvicorn, with keep-alives every ``keepalive`` seconds."""
    tuned = Settings(redis_url=settings.redis_url, cache_progress_keepalive=keepalive)
    async with (
        CacheManager(tuned, clock=clock) as manager,
        uvicorn_serving(create_app(manager=manager)) as url,
    ):
        yield manager, url


async def _open(manager: CacheManager) -> tuple[UserSession, UUID, str]:
    project, operation = uuid4(), uuid4()
    session = await manager.create_user_session(uuid4(), {}, [project])
    assert session is not None
    await manager.start_progress_tracking(operation, 10, project_id=project)
    return session, project, manager.progress_id(operation, project)


async def _streamed(
    url: str, session: UserSession, cid: str, meanwhile: Callable[[Stream], Awaitable[None]]
) -> Stream:
    """What the session's reader of ``cid`` got: its first event, then ``meanwhile``, then
    the rest until the stream ended."""
    headers = {"Authorization": f"Bearer {session.session_id}"}
    async with (
        httpx.AsyncClient(base_url=url, timeout=WAIT, headers=headers) as http,
        http.stream("GET", f"/progress/{cid}/events") as response,
    ):
        assert response.status_code == 200
        stream = await Stream(response).read(1)
        await meanwhile(stream)
        await stream.read()
    assert stream.ended
    return stream


@pytest.mark.parametrize("revocation", list(REVOCATIONS))
async def test_a_revocation_here_closes_the_stream_at_once(
    settings: Settings, clock: ManualClock, revocation: str
) -> None:
    revoke, reason = REVOCATIONS[revocation]
    async with watched(settings, clock, keepalive=60.0) as (manager, url):
        session, project, cid = await _open(manager)

        async def revoked(stream: Stream) -> None:
            await manager.increment_progress(cid, "one")
            await stream.read(2)
            await revoke(manager, session, project)
            for step in range(2, 8):  # six events the reader may no longer see
                await manager.increment_progress(cid, f"#{step}")

        stream = await _streamed(url, session, cid, revoked)
    assert [event["event"] for event in stream.events] == ["started", "progress", "closed"]
    closed = stream.events[-1]
    assert closed["id"] is None  # a reconnect resumes after the last real event
    assert closed["data"]["reason"] == reason
    assert closed["data"]["detail"]


async def test_a_revocation_elsewhere_closes_the_stream_at_the_next_keepalive(
    settings: Settings, clock: ManualClock
) -> None:
    async with watched(settings, clock, keepalive=0.3) as (manager, url):
        session, _, cid = await _open(manager)

        async def revoked_elsewhere(stream: Stream) -> None:
            if settings.redis_url is not None:  # another process: another manager, same Redis
                async with CacheManager(Settings(redis_url=settings.redis_url)) as elsewhere:
                    assert await elsewhere.revoke_user_session(_session_id(session), "elsewhere")
            else:  # what another process's manager would do, without this one's notice
                assert await manager._sessions.revoke(_session_id(session), "elsewhere")

        stream = await _streamed(url, session, cid, revoked_elsewhere)
    assert [event["event"] for event in stream.events] == ["started", "closed"]
    assert stream.events[-1]["data"]["reason"] == "invalid_session"
