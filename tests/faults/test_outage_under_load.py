"""Redis killed and restarted under a mixed load: what callers see, and what survives.

The server writes an append-only file with fsync on every write, so an acknowledged write
survives the kill: that is what lets the test tell "lost" from "never acknowledged".
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import (
    AccessDenied,
    BackendError,
    CacheManager,
    RateLimitConfig,
    Settings,
    WriteOutcome,
)
from jeex_cache.testing import RedisServer

COOL_DOWN = 0.2


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer.start("--appendonly", "yes", "--appendfsync", "always") as own:
        yield own


def outage_settings(server: RedisServer) -> Settings:
    return Settings(
        redis_url=server.url,
        redis_socket_timeout=0.2,
        redis_connect_timeout=0.2,
        circuit_breaker_failure_threshold=3,
        circuit_breaker_reset_timeout=COOL_DOWN,
        retry_delay=0.01,
        cache_request_deadline=0.2,
    )


class Load:
    """Workers calling the manager in a loop; every exception is kept, none escapes."""

    def __init__(self) -> None:
        self.escaped: list[BaseException] = []
        self.calls: Counter[str] = Counter()
        self.stop = asyncio.Event()

    async def run(self, name: str, call: Callable[[], Awaitable[Any]]) -> None:
        while not self.stop.is_set():
            try:
                await call()
            except Exception as exc:  # the test is about what escapes
                self.escaped.append(exc)
            self.calls[name] += 1
            await asyncio.sleep(0.001)


async def test_outage_under_mixed_load(server: RedisServer) -> None:
    project = uuid4()
    versioned = uuid4()
    written: list[int] = []
    unversioned = {"attempted": 0, "stored": 0}
    rng = random.Random(5)

    async with CacheManager(outage_settings(server)) as cache:
        load = Load()
        session = await cache.create_user_session(uuid4(), {}, [project])
        assert session is not None
        session_id = session.session_id
        assert session_id is not None
        validations: list[bool] = []
        denials: list[str] = []
        progress_outcomes: Counter[str] = Counter()
        operation = uuid4()
        await cache.start_progress_tracking(operation, 1_000_000)

        limits: Counter[str] = Counter()
        policy = RateLimitConfig(1_000_000, 60)

        async def check_rate_limit() -> None:
            result = await cache.check_rate_limit("load", "user", policy)
            limits["degraded" if "error" in result else "checked"] += 1
            limits["refused"] += not result.allowed

        queued: list[str] = []
        refused: list[str] = []

        async def enqueue() -> None:
            task_id = f"load-{len(queued) + len(refused)}"
            try:
                queued.append(await cache.enqueue_task("load", "noop", {}, task_id=task_id))
            except BackendError:  # the table: the caller must know it was not queued
                refused.append(task_id)

        async def report_progress() -> None:
            result = await cache.increment_progress(operation, "step")
            progress_outcomes[result.outcome.value] += 1

        async def validate() -> None:
            validations.append(await cache.validate_user_session(session_id) is not None)

        async def check_access() -> None:
            try:
                await cache.require_project_access(session_id, project)
            except AccessDenied as denied:
                denials.append(denied.reason)

        async def versioned_write() -> None:
            version = len(written) + 1
            result = await cache.write_project_data(versioned, {"v": version}, version=version)
            if result.outcome is WriteOutcome.STORED:
                written.append(version)

        async def counter_write() -> None:
            unversioned["attempted"] += 1
            if await cache.cache_project_data(project, {"n": rng.random()}):
                unversioned["stored"] += 1

        workers = [
            load.run("read", lambda: cache.get_project_data(project)),
            load.run("view", lambda: cache.project(project).get("x")),
            load.run("invalidate", lambda: cache.project(uuid4()).invalidate("load")),
            load.run("versioned", versioned_write),
            load.run("counter", counter_write),
            load.run("validate", validate),
            load.run("access", check_access),
            load.run("progress", report_progress),
            load.run("rate_limit", check_rate_limit),
            load.run("enqueue", enqueue),
        ]
        tasks = [asyncio.create_task(worker) for worker in workers]
        await asyncio.sleep(0.3)
        server.kill()
        await asyncio.sleep(0.5)
        down = await cache.health_check()
        server.restart()
        await asyncio.sleep(COOL_DOWN + 0.5)
        up_calls = sum(load.calls.values())
        await asyncio.sleep(0.3)
        load.stop.set()
        await asyncio.gather(*tasks)
        after = await cache.health_check()
        still_valid = await cache.validate_user_session(session_id)
        statuses = [await cache.get_task_status(task_id) for task_id in queued]
        requeued = [await cache.enqueue_task("load", "noop", {}, task_id=t) for t in queued]
        final = await cache.get_project_entry(versioned)
        counter = await cache.get_project_entry(project)

    assert load.escaped == []  # the table: no cache or session family raises
    # Sessions fail closed during the outage and work again after it.
    assert False in validations
    assert set(denials) == {"unavailable"}
    assert still_valid is not None
    # Rate limits fail open: allowed, with "error", during the outage; real checks after it.
    assert limits["refused"] == 0
    assert limits["degraded"] > 0
    assert limits["checked"] > 0
    # Tasks: enqueue raised while Redis was down (the table), and every acknowledged task is
    # still queued after the restart, exactly once (its ID enqueued again changes nothing).
    assert refused
    assert queued
    assert all(status is not None and status.status.value == "queued" for status in statuses)
    assert requeued == queued
    # Progress updates are no-ops during the outage, never errors, and resume after it.
    assert progress_outcomes["unavailable"] > 0
    assert progress_outcomes["applied"] > 0
    assert down["status"] == "unhealthy"
    assert down["circuit"]["state"] == "open"
    assert after["circuit"]["state"] == "closed"
    assert sum(load.calls.values()) > up_calls  # work went on after the restart
    # Versioned writes: nothing acknowledged was lost, versions only went up.
    assert final is not None
    assert final.version == max(written)
    assert written == sorted(written)
    # Unversioned writes: never applied twice (writes are not retried).
    assert counter is not None
    assert unversioned["stored"] <= counter.version <= unversioned["attempted"]
