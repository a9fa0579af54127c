"""Progress over HTTP against a running uvicorn, on both backends, with a real HTTP client.

The server runs in this process (so the memory backend can be shared with the reporter); one
test also runs ``jeex-cache serve`` as a separate process on Redis. Every wait is bounded.
``client`` carries a session with access to ``PROJECT``, which owns the progress reported here.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson
import pytest
import redis

from jeex_cache import (
    CacheManager,
    ManualClock,
    ProgressResult,
    Settings,
    TaskContext,
    TaskStatus,
    Worker,
)
from jeex_cache.testing import free_port
from jeex_cache.web import create_app
from tests.web._uvicorn import uvicorn_serving

KEEPALIVE = 0.2
WAIT = 10.0
PROJECT = uuid4()


@dataclass
class Stream:
    """What a client read from one SSE response (``read`` it, perhaps several times)."""

    response: httpx.Response
    events: list[dict[str, Any]] = field(default_factory=list)
    keepalives: int = 0
    retry: int | None = None
    ended: bool = False

    @property
    def ids(self) -> list[str]:
        return [event["id"] for event in self.events]

    @property
    def steps(self) -> list[tuple[str, int, str]]:
        return [(e["event"], e["data"]["current_step"], e["data"]["message"]) for e in self.events]

    def __post_init__(self) -> None:
        self._lines = aiter(self.response.aiter_lines())

    async def read(self, count: int | None = None) -> Stream:
        """Parse events until ``count`` of them were read in all, or the stream ends."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(WAIT):
            async for line in self._lines:
                if line.startswith(":"):
                    self.keepalives += line == ": keep-alive"
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif "retry" in fields:
                    self.retry, fields = int(fields["retry"]), {}
                elif fields:
                    event = {"id": fields.get("id"), "event": fields["event"]}
                    self.events.append(event | {"data": orjson.loads(fields["data"])})
                    fields = {}
                    if count is not None and len(self.events) >= count:
                        return self
            self.ended = True
        return self


@pytest.fixture
async def sse_manager(settings: Settings, clock: ManualClock) -> AsyncIterator[CacheManager]:
    """The backend under test, with keep-alives every ``KEEPALIVE`` seconds."""
    tuned = Settings(redis_url=settings.redis_url, cache_progress_keepalive=KEEPALIVE)
    async with CacheManager(tuned, clock=clock) as manager:
        yield manager


@pytest.fixture
async def base_url(sse_manager: CacheManager) -> AsyncIterator[str]:
    """The reference service over ``sse_manager``, served by uvicorn on a free port."""
    async with uvicorn_serving(create_app(manager=sse_manager)) as url:
        yield url


async def bearer(manager: CacheManager, *projects: UUID) -> dict[str, str]:
    """The header of a fresh session with access to ``projects``."""
    session = await manager.create_user_session(uuid4(), {}, projects)
    assert session is not None
    assert session.session_id is not None
    return {"Authorization": f"Bearer {session.session_id}"}


@pytest.fixture
async def client(base_url: str, sse_manager: CacheManager) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose session may read ``PROJECT``'s progress."""
    headers = await bearer(sse_manager, PROJECT)
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT, headers=headers) as http:
        yield http


def events_url(cid: object) -> str:
    return f"/progress/{cid}/events"


async def test_state_endpoint(client: httpx.AsyncClient, sse_manager: CacheManager) -> None:
    cid = sse_manager.progress_id(uuid4(), PROJECT)
    missing = await client.get(f"/progress/{cid}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
    assert (await client.get("/progress/not{valid}")).status_code == 422

    await sse_manager.start_progress_tracking(cid, 4, project_id=PROJECT)
    result = await sse_manager.increment_progress(cid, "one")
    state = await client.get(f"/progress/{cid}")
    assert state.status_code == 200, state.text
    body = state.json()
    assert body["correlation_id"] == str(cid)
    assert (body["current_step"], body["total_steps"], body["percentage"]) == (1, 4, 25.0)
    assert (body["status"], body["message"], body["error"]) == ("running", "one", None)
    assert body["last_event_id"] == result.event_id
    assert body["project_id"] == str(PROJECT)


async def test_a_live_stream_has_ids_keepalives_and_ends_after_the_last_event(
    client: httpx.AsyncClient, sse_manager: CacheManager
) -> None:
    cid = sse_manager.progress_id(uuid4(), PROJECT)
    results = [await sse_manager.start_progress_tracking(cid, 3, "queued", project_id=PROJECT)]
    async with client.stream("GET", events_url(cid)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        stream = await Stream(response).read(1)
        await asyncio.sleep(3 * KEEPALIVE)  # silence: keep-alive comments flow
        results.append(await sse_manager.increment_progress(cid, "one"))
        results.append(await sse_manager.update_progress(cid, 2, "two"))
        results.append(await sse_manager.complete_progress(cid, "done"))
        await stream.read()
    assert stream.ended
    assert stream.retry is not None
    assert stream.keepalives >= 1
    assert stream.ids == [r.event_id for r in results]
    assert stream.steps == [
        ("started", 0, "queued"),
        ("progress", 1, "one"),
        ("progress", 2, "two"),
        ("completed", 3, "done"),
    ]
    last = stream.events[-1]["data"]
    assert (last["status"], last["percentage"], last["correlation_id"]) == (
        "completed",
        100.0,
        str(cid),
    )


async def test_a_reconnect_with_last_event_id_misses_nothing_and_repeats_nothing(
    client: httpx.AsyncClient, sse_manager: CacheManager
) -> None:
    cid = sse_manager.progress_id(uuid4(), PROJECT)
    results: list[ProgressResult] = [
        await sse_manager.start_progress_tracking(cid, 5, project_id=PROJECT)
    ]
    async with client.stream("GET", events_url(cid)) as response:
        first = await Stream(response).read(1)
        results.append(await sse_manager.increment_progress(cid, "one"))
        await first.read(2)
    # Dropped. Updates go on while the client is away.
    for step in (2, 3):
        results.append(await sse_manager.increment_progress(cid, f"#{step}"))
    headers = {"Last-Event-ID": first.ids[-1]}
    async with client.stream("GET", events_url(cid), headers=headers) as response:
        second = await Stream(response).read(2)
        results.append(await sse_manager.fail_progress(cid, "disk full"))
        await second.read()
    assert second.ended
    assert first.ids + second.ids == [r.event_id for r in results]
    assert [e["event"] for e in second.events] == ["progress", "progress", "failed"]
    assert second.events[-1]["data"]["error"] == "disk full"

    # Reconnecting after the last event of a finished operation: 204, EventSource stops.
    done = await client.get(events_url(cid), headers={"Last-Event-ID": second.ids[-1]})
    assert done.status_code == 204
    # Resuming from any earlier event replays exactly the rest, also by query parameter.
    async with client.stream("GET", events_url(cid), params={"after": first.ids[0]}) as response:
        replay = await Stream(response).read()
    assert replay.ids == [r.event_id for r in results[1:]]


async def test_many_listeners_each_get_every_event(
    client: httpx.AsyncClient, sse_manager: CacheManager
) -> None:
    cid = sse_manager.progress_id(uuid4(), PROJECT)
    await sse_manager.start_progress_tracking(cid, 10, project_id=PROJECT)
    connected = asyncio.Event()
    ready: list[int] = []

    async def listen() -> Stream:
        async with client.stream("GET", events_url(cid)) as response:
            stream = await Stream(response).read(1)
            ready.append(1)
            if len(ready) == 5:
                connected.set()
            return await stream.read()

    listeners = [asyncio.create_task(listen()) for _ in range(5)]
    async with asyncio.timeout(WAIT):
        await connected.wait()
    for step in range(1, 10):
        await sse_manager.increment_progress(cid, f"#{step}")
    await sse_manager.complete_progress(cid, "done")
    streams = await asyncio.gather(*listeners)
    expected = [("started", 0, ""), *(("progress", s, f"#{s}") for s in range(1, 10))]
    expected.append(("completed", 10, "done"))
    for stream in streams:
        assert stream.ended
        assert stream.steps == expected


async def test_bad_requests(client: httpx.AsyncClient, sse_manager: CacheManager) -> None:
    cid = uuid4()
    assert (await client.get(events_url(cid))).status_code == 404
    await sse_manager.start_progress_tracking(cid, 2, project_id=PROJECT)
    bad = await client.get(events_url(cid), headers={"Last-Event-ID": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "InvalidProgressError"
    assert (await client.get(events_url("a:b"))).status_code == 422


@pytest.mark.parametrize("fails", [False, True], ids=["succeeds", "dies"])
async def test_the_stream_of_a_task_ends_with_the_task(
    client: httpx.AsyncClient, sse_manager: CacheManager, fails: bool
) -> None:
    started, gate = asyncio.Event(), asyncio.Event()

    async def job(ctx: TaskContext, payload: Any) -> str:
        await ctx.start_progress(2, "working")
        started.set()
        await gate.wait()
        await ctx.report_progress(1, "half way")
        if fails:
            raise RuntimeError("broken")
        return "ok"

    task_id = await sse_manager.enqueue_task(
        "jobs", "job", None, max_attempts=1, project_id=PROJECT
    )
    running = asyncio.create_task(Worker(sse_manager, "jobs", {"job": job}).run_once())
    async with asyncio.timeout(WAIT):
        await started.wait()
    async with client.stream("GET", events_url(task_id)) as response:
        assert response.status_code == 200
        stream = await Stream(response).read(1)
        gate.set()
        await stream.read()  # a stream left open would time out here
    assert await running is (TaskStatus.DEAD if fails else TaskStatus.SUCCEEDED)
    assert stream.ended
    last = "failed" if fails else "completed"
    assert [event["event"] for event in stream.events] == ["started", "progress", last]


def test_a_separate_service_process_streams_updates_made_here(
    redis_url: str, tmp_path: Path
) -> None:
    """``jeex-cache serve`` on Redis in its own process; this process reports the progress.

    A client that leaves mid-stream releases the service's subscription.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {"REDIS_URL": redis_url, "CACHE_PROGRESS_KEEPALIVE": str(KEEPALIVE)}
    command = [sys.executable, "-m", "jeex_cache.cli", "serve", "--port", str(port)]
    with (tmp_path / "serve.log").open("wb") as log, _Process(command, env, log):
        stream = asyncio.run(_report_and_listen(f"http://127.0.0.1:{port}", redis_url))
    assert stream.ended
    assert [step for _, step, _ in stream.steps] == [0, 1, 2, 3]


async def _report_and_listen(base_url: str, redis_url: str) -> Stream:
    async with (
        CacheManager(Settings(redis_url=redis_url)) as reporter,
        httpx.AsyncClient(base_url=base_url, timeout=WAIT) as http,
    ):
        for _ in range(int(WAIT / 0.05)):
            try:
                if (await http.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        project = uuid4()
        cid = reporter.progress_id(uuid4(), project)
        await reporter.start_progress_tracking(cid, 3, project_id=project)
        http.headers.update(await bearer(reporter, project))
        async with http.stream("GET", events_url(cid)) as response:
            await Stream(response).read(1)  # then the client leaves mid-stream
        await _until_unsubscribed(redis_url, f"jeex:progress:{{{cid}}}:events")
        async with http.stream("GET", events_url(cid)) as response:
            stream = await Stream(response).read(1)
            for _ in range(2):
                await reporter.increment_progress(cid)
            await reporter.complete_progress(cid)
            return await stream.read()


async def _until_unsubscribed(redis_url: str, channel: str) -> None:
    """The service dropped its subscription once the client left (bounded wait)."""
    with redis.Redis.from_url(redis_url) as raw:
        for _ in range(int(WAIT / 0.02)):
            [(_, subscribers)] = raw.pubsub_numsub(channel)
            if subscribers == 0:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{channel} still has subscribers after the client left")


class _Process:
    """Run ``command`` for the duration of a ``with`` block; terminate it after."""

    def __init__(self, command: list[str], env: dict[str, str], log: Any) -> None:
        self._popen = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

    def __enter__(self) -> subprocess.Popen[bytes]:
        return self._popen

    def __exit__(self, *exc: object) -> None:
        self._popen.terminate()
        try:
            self._popen.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()
