"""``progress_stream``: SSE with Last-Event-ID resume, keep-alives, one 404 for unknown and
refused IDs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import uuid4

import httpx
import orjson
import pytest
from fastapi import Depends, FastAPI, Request, Response

from jeex_cache import CacheManager, Settings, UserSession
from jeex_cache.fastapi import progress_stream, require_session
from tests.fastapi_integration.conftest import WAIT, bearer, new_app, serve, served

Session = Annotated[UserSession, Depends(require_session)]


def progress_app(manager: CacheManager) -> FastAPI:
    app = new_app(manager)

    @app.get("/jobs/{job_id}/events")
    async def events(job_id: str, session: Session, request: Request) -> Response:
        return await progress_stream(manager, job_id, request, allow=session.can_access)

    @app.get("/guarded/{job_id}/events")
    async def guarded(job_id: str, session: Session, request: Request) -> Response:
        return await progress_stream(
            manager, job_id, request, allow=session.can_access, session=session
        )

    return app


def parse(text: str) -> tuple[list[dict[str, Any]], int]:
    """The events of an SSE body, and its keep-alive comments."""
    events, keepalives = [], 0
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(": keep-alive"):
                keepalives += 1
            name, _, value = line.partition(": ")
            if name in ("id", "event"):
                fields[name] = value
            elif name == "data":
                fields["data"] = orjson.loads(value)
        if "id" in fields:
            events.append(fields)
    return events, keepalives


async def finished_job(manager: CacheManager) -> tuple[str, Any]:
    job, project = f"job-{uuid4().hex[:8]}", uuid4()
    await manager.start_progress_tracking(job, 2, "starting", project_id=project)
    job = manager.progress_id(job, project)  # a project's operation: its scoped ID
    await manager.increment_progress(job, "one")
    await manager.increment_progress(job, "two")
    await manager.complete_progress(job, "done")
    return job, project


async def test_a_finished_job_replays_and_resumes_after_last_event_id(
    manager: CacheManager,
) -> None:
    job, project = await finished_job(manager)
    async with serve(progress_app(manager)) as client:
        headers = await bearer(manager, project)
        response = await client.get(f"/jobs/{job}/events", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events, _ = parse(response.text)
        kinds = [event["event"] for event in events]
        assert kinds == ["started", "progress", "progress", "completed"]
        assert events[-1]["data"]["percentage"] == 100.0
        resumed = await client.get(
            f"/jobs/{job}/events", headers={**headers, "Last-Event-ID": events[1]["id"]}
        )
        assert [e["id"] for e in parse(resumed.text)[0]] == [e["id"] for e in events[2:]]
        done = await client.get(
            f"/jobs/{job}/events", headers={**headers, "Last-Event-ID": events[-1]["id"]}
        )
        assert done.status_code == 204


async def test_unknown_and_refused_ids_get_the_same_404(manager: CacheManager) -> None:
    job, _ = await finished_job(manager)
    async with serve(progress_app(manager)) as client:
        headers = await bearer(manager)  # no access to the job's project
        refused = await client.get(f"/jobs/{job}/events", headers=headers)
        unknown = await client.get("/jobs/job-unknown/events", headers=headers)
        malformed = await client.get(
            f"/jobs/{job}/events", headers={**headers, "Last-Event-ID": "not an id"}
        )
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"].replace(job, "X") == unknown.json()["detail"].replace(
        "job-unknown", "X"
    )
    assert malformed.status_code == 422


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[tuple[CacheManager, str]]:
    """The app served by uvicorn (httpx's ASGITransport buffers whole bodies), keep-alives
    every 0.2 s; the system clock, which both the server and the stream read."""
    tuned = Settings(
        redis_url=settings.redis_url,
        cache_progress_keepalive=0.2,
        cache_session_cookie_secure=False,
    )
    manager = CacheManager(tuned)
    async with served(progress_app(manager)) as url:
        yield manager, url


async def test_a_live_stream_sends_keep_alives_then_each_event_until_the_last(
    live: tuple[CacheManager, str],
) -> None:
    manager, url = live
    job, project = f"job-{uuid4().hex[:8]}", uuid4()
    await manager.start_progress_tracking(job, 2, "starting", project_id=project)
    job = manager.progress_id(job, project)  # a project's operation: its scoped ID
    headers = await bearer(manager, project)
    text = ""
    async with (
        httpx.AsyncClient(base_url=url, timeout=WAIT) as client,
        client.stream("GET", f"/jobs/{job}/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        chunks = response.aiter_text()
        while ": keep-alive" not in text:
            text += await asyncio.wait_for(anext(chunks), WAIT)
        await manager.increment_progress(job, "one")
        await manager.complete_progress(job, "done")
        async for chunk in chunks:
            text += chunk
    events, keepalives = parse(text)
    assert [event["event"] for event in events] == ["started", "progress", "completed"]
    assert keepalives >= 1


async def test_a_client_that_leaves_does_not_stop_the_server(
    live: tuple[CacheManager, str],
) -> None:
    manager, url = live
    job, project = f"job-{uuid4().hex[:8]}", uuid4()
    await manager.start_progress_tracking(job, 2, "starting", project_id=project)
    job = manager.progress_id(job, project)  # a project's operation: its scoped ID
    headers = await bearer(manager, project)
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as client:
        for _ in range(3):
            async with client.stream("GET", f"/jobs/{job}/events", headers=headers) as response:
                assert response.status_code == 200
                await asyncio.wait_for(anext(response.aiter_text()), WAIT)
        await manager.complete_progress(job, "done")
        again = await client.get(f"/jobs/{job}/events", headers=headers)
    assert [e["event"] for e in parse(again.text)[0]] == ["started", "completed"]


@pytest.mark.parametrize("revoke", ["project", "session"])
async def test_a_stream_given_the_session_closes_when_its_access_ends(
    live: tuple[CacheManager, str], revoke: str
) -> None:
    manager, url = live
    job, project = f"job-{uuid4().hex[:8]}", uuid4()
    await manager.start_progress_tracking(job, 2, "starting", project_id=project)
    job = manager.progress_id(job, project)
    headers = await bearer(manager, project)
    session_id = headers["Authorization"].removeprefix("Bearer ")
    text = ""
    async with (
        httpx.AsyncClient(base_url=url, timeout=WAIT) as client,
        client.stream("GET", f"/guarded/{job}/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        chunks = response.aiter_text()
        while "event: started" not in text:
            text += await asyncio.wait_for(anext(chunks), WAIT)
        if revoke == "project":
            await manager.revoke_project_access(session_id, project)
        else:
            await manager.revoke_user_session(session_id, "test")
        async for chunk in chunks:  # the stream ends by itself, the job still running
            text += chunk
    closed = [block for block in text.split("\n\n") if "event: closed" in block]
    assert len(closed) == 1
    data = orjson.loads(closed[0].split("data: ", 1)[1])
    reason = "project_not_granted" if revoke == "project" else "invalid_session"
    assert data["reason"] == reason
    assert [event["event"] for event in parse(text)[0]] == ["started"]
