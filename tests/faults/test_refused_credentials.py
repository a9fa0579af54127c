"""A Redis that refuses our credentials, or serves no one, is an outage: the failure table.

A password rotated under load (``CONFIG SET requirepass`` + ``CLIENT KILL``), a wrong password
from the start, an ACL that takes our rights, a full memory and a server turned replica: every
call answers its row of the failure table (a miss, False / 0, None, ``BackendError``), never a
raw error reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.core.errors import BackendError
from jeex_cache.testing import RedisServer, free_port
from tests.faults.conftest import SOCKET_TIMEOUT

pytestmark = pytest.mark.redis_only

RAISES = object()  # the row raises BackendError: the caller must know
Expected = Callable[[Any], bool]


def calls(cache: CacheManager) -> dict[str, tuple[Callable[[], Awaitable[Any]], Expected]]:
    """The 14 calls of the attack pass, each with its failure-table answer."""
    project = uuid4()
    view = cache.project(project)
    return {
        "get_project_data": (lambda: cache.get_project_data(project), lambda r: r is None),
        "cache_project_data": (lambda: cache.cache_project_data(project, 1), lambda r: r is False),
        "cache_project_data+tags": (
            lambda: cache.cache_project_data(project, 1, tags=["t"]),
            lambda r: r is False,
        ),
        "get_many_project_data": (
            lambda: cache.get_many_project_data([project]),
            lambda r: r == {},
        ),
        "view.get_many": (lambda: view.get_many(["a", "b"]), lambda r: r == {}),
        "view.set_many": (lambda: view.set_many({"a": 1, "b": 2}), lambda r: r == 0),
        "invalidate_project_cache": (
            lambda: cache.invalidate_project_cache(project, "x"),
            lambda r: r == 0,
        ),
        "invalidate_by_tag": (lambda: cache.invalidate_by_tag("t"), lambda r: r == 0),
        "invalidate_tag_in_projects": (
            lambda: cache.invalidate_tag_in_projects("t", [project]),
            lambda r: r == 0,
        ),
        "create_user_session": (
            lambda: cache.create_user_session(uuid4(), {}),
            lambda r: r is None,
        ),
        "validate_user_session": (
            lambda: cache.validate_user_session("s" * 43),
            lambda r: r is None,
        ),
        "check_rate_limit": (
            lambda: cache.check_rate_limit("client-1", "user"),
            lambda r: r.allowed and r.error,
        ),
        "update_progress": (
            lambda: cache.update_progress(uuid4(), 1),
            lambda r: r.outcome.value == "unavailable",
        ),
        "get_queue_stats": (lambda: cache.get_queue_stats("q"), lambda r: r is RAISES),
        "enqueue_task": (lambda: cache.enqueue_task("q", "job"), lambda r: r is RAISES),
    }


async def answers(cache: CacheManager) -> dict[str, Any]:
    """Each call's answer (``RAISES`` for a BackendError; any other exception propagates)."""
    found: dict[str, Any] = {}
    for name, (call, _) in calls(cache).items():
        try:
            found[name] = await call()
        except BackendError:
            found[name] = RAISES
    return found


def wrong_answers(cache: CacheManager, found: dict[str, Any]) -> dict[str, Any]:
    table = calls(cache)
    return {name: value for name, value in found.items() if not table[name][1](value)}


def settings(url: str) -> Settings:
    return Settings(
        redis_url=url,
        redis_socket_timeout=SOCKET_TIMEOUT,
        redis_connect_timeout=SOCKET_TIMEOUT,
        max_retries=0,
        circuit_breaker_failure_threshold=1000,
    )


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=server.port)
    yield client
    client.close()


async def test_password_rotated_under_load_gives_failure_table_answers(
    cache: CacheManager, server: RedisServer, admin: redis.Redis
) -> None:
    assert await cache.cache_project_data(uuid4(), {"up": True})
    raised: list[BaseException] = []
    stop = asyncio.Event()

    async def load() -> None:
        while not stop.is_set():
            try:
                await answers(cache)
            except Exception as exc:  # a raw error reply is what we look for
                raised.append(exc)

    workers = [asyncio.create_task(load()) for _ in range(4)]
    await asyncio.sleep(0.2)  # calls in flight on every connection
    admin.config_set("requirepass", "rotated")
    admin.client_kill_filter(_type="normal", skipme=True)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*workers)
    assert raised == []
    for _ in range(2):  # every call, on connections refused again and again
        assert wrong_answers(cache, await answers(cache)) == {}
    assert cache.failure_tracker.degraded


async def test_wrong_password_from_the_start_gives_failure_table_answers(
    server: RedisServer, admin: redis.Redis
) -> None:
    admin.config_set("requirepass", "right")
    url = f"redis://:wrong@127.0.0.1:{server.port}/0"
    async with CacheManager(settings(url)) as cache:
        assert wrong_answers(cache, await answers(cache)) == {}
        health = await cache.health_check()
        assert health["status"] == "unhealthy"


async def test_acl_without_rights_gives_failure_table_answers(
    cache: CacheManager, admin: redis.Redis
) -> None:
    assert await cache.cache_project_data(uuid4(), 1)
    # The default user keeps its connection rights, loses every command's: NOPERM.
    admin.acl_setuser("default", enabled=True, nopass=True, commands=["-@all", "+hello", "+auth"])
    assert wrong_answers(cache, await answers(cache)) == {}


async def test_full_memory_fails_writes_by_the_table(
    cache: CacheManager, admin: redis.Redis
) -> None:
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)  # below what is used: every write is refused with OOM
    project = uuid4()
    assert await cache.cache_project_data(project, 1, tags=["t"]) is False
    assert await cache.project(project).set_many({"a": 1}) == 0
    assert await cache.create_user_session(uuid4(), {}) is None
    with pytest.raises(BackendError):
        await cache.enqueue_task("q", "job")


async def test_a_server_turned_replica_fails_writes_by_the_table(
    cache: CacheManager, admin: redis.Redis
) -> None:
    admin.replicaof("127.0.0.1", free_port())  # a replica of no one: READONLY for writes
    project = uuid4()
    assert await cache.cache_project_data(project, 1, tags=["t"]) is False
    assert await cache.project(project).set_many({"a": 1}) == 0
    assert await cache.invalidate_by_tag("t") == 0
    assert await cache.create_user_session(uuid4(), {}) is None
    with pytest.raises(BackendError):
        await cache.enqueue_task("q", "job")
