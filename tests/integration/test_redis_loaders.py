"""Loaders across processes on real Redis: one load for a deployment-wide stampede, waiters
woken rather than polling, a SIGKILLed lease holder, an extended lease, a remote failure."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import redis

from jeex_cache import CacheManager, LoaderFailedError, SerializationError, Settings
from jeex_cache.project_cache.model import LoadSource

ROOT = Path(__file__).resolve().parents[2]


def spawn(url: str, project: UUID, mode: str, lease: float = 10.0) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.integration._loader_worker", url, str(project)]
    return subprocess.Popen(
        [*command, mode, str(lease)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def values_of(process: subprocess.Popen[str]) -> list[object]:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    result: list[object] = json.loads(out.strip().splitlines()[-1])
    return result


def pop(raw: redis.Redis, key: str) -> bytes:
    """The next element of ``key``, waiting for it (the harness's signals from workers)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = raw.lpop(key)
        if value is not None:
            return value  # type: ignore[return-value]
        time.sleep(0.01)
    raise AssertionError(f"nothing came on {key}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()  # reaps it and closes its pipe


def test_four_processes_stampeding_a_cold_key_load_it_once(
    redis_url: str, raw: redis.Redis, processes: list[subprocess.Popen[str]]
) -> None:
    project = uuid4()
    processes += [spawn(redis_url, project, "stampede") for _ in range(4)]
    for _ in processes:
        pop(raw, "test:ready")
    raw.config_resetstat()
    raw.set("test:go", 1)
    values = [value for process in processes for value in values_of(process)]
    assert raw.get("test:loads") == b"1"
    assert len(values) == 400
    assert len({json.dumps(value) for value in values}) == 1  # all got the one load's value
    # The three processes that did not load each waited once, woken by the release: no
    # polling (a waiter that polled would BLPOP many times during the 0.3 s load).
    assert raw.info("commandstats").get("cmdstat_blpop", {"calls": 0})["calls"] <= 3


async def test_a_sigkilled_lease_holder_frees_the_key_when_its_lease_ends(
    redis_url: str, raw: redis.Redis, processes: list[subprocess.Popen[str]]
) -> None:
    project = uuid4()
    holder = spawn(redis_url, project, "hold", lease=1.0)
    processes.append(holder)
    pop(raw, "test:loading")
    lease = f"jeex:proj:{{{project}}}:lease:data"
    assert raw.pttl(lease) > 0
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        return "loaded here"

    settings = Settings(redis_url=redis_url, cache_loader_lease_seconds=1.0)
    async with CacheManager(settings) as cache:
        result = await cache.read_or_load_project_data(project, load, 60)
    assert (result.source, result.value, calls) == (LoadSource.LOADED, "loaded here", 1)
    assert raw.get("test:loads") == b"1"  # the dead holder's attempt only


async def test_a_running_loader_extends_its_lease(
    redis_url: str, raw: redis.Redis, processes: list[subprocess.Popen[str]]
) -> None:
    project = uuid4()
    holder = spawn(redis_url, project, "slow", lease=1.0)  # a 3 s load under a 1 s lease
    processes.append(holder)
    pop(raw, "test:loading")
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        return "loaded here"

    settings = Settings(redis_url=redis_url, cache_loader_lease_seconds=1.0)
    async with CacheManager(settings) as cache:
        value = await cache.get_or_load_project_data(project, load, 60)
    assert calls == 0
    assert value == {"by": holder.pid}
    assert values_of(holder) == [{"by": holder.pid}]


async def test_a_loader_failing_in_another_process_reaches_the_waiters(
    redis_url: str, raw: redis.Redis, processes: list[subprocess.Popen[str]]
) -> None:
    project = uuid4()
    holder = spawn(redis_url, project, "fail")
    processes.append(holder)
    pop(raw, "test:loading")

    async def load() -> str:
        return "loaded here"

    async with CacheManager(Settings(redis_url=redis_url)) as cache:
        waiting = asyncio.create_task(cache.get_or_load_project_data(project, load, 60))
        waiters = f"jeex:proj:{{{project}}}:lease-waiters:data"
        while not raw.exists(waiters):  # noqa: ASYNC110 - until our caller waits
            await asyncio.sleep(0.01)
        raw.rpush("test:release", 1)
        with pytest.raises(LoaderFailedError):
            await waiting
        assert await cache.get_or_load_project_data(project, load, 60) == "loaded here"
    holder.wait(timeout=60)
    assert holder.returncode != 0  # the loader's own error reached its caller there


async def test_a_value_that_cannot_be_cached_frees_the_lease_at_once(
    redis_url: str, raw: redis.Redis
) -> None:
    project = uuid4()

    async def unencodable() -> object:
        return {1, 2}  # a set: not JSON

    async def good() -> str:
        return "fine"

    async with CacheManager(Settings(redis_url=redis_url)) as cache:
        with pytest.raises(SerializationError):
            await cache.get_or_load_project_data(project, unencodable, 60)
        assert not raw.exists(f"jeex:proj:{{{project}}}:lease:data")  # not left to run out
        result = await cache.read_or_load_project_data(project, good, 60)
    assert (result.source, result.value) == (LoadSource.LOADED, "fine")
