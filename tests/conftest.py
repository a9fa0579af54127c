"""Shared fixtures: real redis-server processes on free loopback ports, and the backend matrix.

Every test that takes ``manager`` runs once per backend (memory, redis, cluster): that is
the contract suite (cluster: a session-wide 3-master + 3-replica Redis Cluster).
``elapse(seconds)`` moves time: the manual clock on memory, real time on Redis (whose clock
cannot be moved), so expiry tests keep their TTLs short.

A skipped test fails the run: everything the suite needs (redis-server, redis-cli, chromium)
is installed by ``scripts/test``, so a skip would hide a test that did not run. A test whose
skip is legitimate on any machine says so with ``@pytest.mark.may_skip``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any

import pytest
import redis
import redis.sentinel

from jeex_cache import CacheManager, ManualClock, Settings
from jeex_cache.core.transport.sentinel_url import parse_sentinel_url
from jeex_cache.testing import RedisCluster, RedisServer, SentinelSet

BACKENDS = ["memory", "redis"]
BACKENDS += ["sentinel"]  # a master, a replica and three sentinels (redis+sentinel://)
BACKENDS += ["cluster"]  # 3 masters and 3 replicas (redis+cluster://)


Elapse = Callable[[float], Awaitable[None]]
Server = redis.Redis | redis.RedisCluster | None


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout: float = 30.0,  # noqa: ASYNC109
) -> None:
    """Wait until ``condition()`` holds (a bool, or an awaitable of one), checking every
    10 ms: for what a test cannot be told of, instead of a fixed sleep. ``AssertionError``
    after ``timeout`` seconds (generous: it stops a broken run; a slow machine never hits it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = condition()
        if held if isinstance(held, bool) else await held:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        await asyncio.sleep(0.01)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "may_skip: the test may skip (its skip is not a failure of the run)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Turn a skip into a failure, unless the test is marked ``may_skip``."""
    report: pytest.TestReport = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and not item.get_closest_marker("may_skip")
    ):
        _fail_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module that skips itself (``importorskip``...) fails the run too."""
    report: pytest.CollectReport = yield
    if report.skipped:
        _fail_skip(report)
    return report


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped, but this environment must run it: {reason}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session's contract tests (flushed before each test)."""
    with RedisServer.start() as server:
        yield server


def raw_redis(url: str) -> redis.Redis:
    """A plain synchronous client on ``url``'s server (a Sentinel URL: its master)."""
    if "+sentinel://" in url:
        config = parse_sentinel_url(url)
        nodes = [(node.host, node.port) for node in config.sentinels]
        # Through Any: redis-py types Sentinel from 8.2 on, not before.
        sentinel_class: Any = redis.sentinel.Sentinel
        sentinel = sentinel_class(nodes)
        master: redis.Redis = sentinel.master_for(config.service, db=config.master.db)
        return master
    return redis.Redis.from_url(url)


@pytest.fixture(scope="session")
def sentinel_set() -> Iterator[SentinelSet]:
    """One Sentinel set for the session's contract tests (flushed before each test)."""
    with SentinelSet.start() as topology:
        yield topology


@pytest.fixture
def sentinel_url(sentinel_set: SentinelSet) -> str:
    """The shared Sentinel set's URL, its master flushed."""
    sentinel_set.flush()
    return sentinel_set.url


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """One 3-master + 3-replica cluster for the session's contract tests (flushed per test)."""
    with RedisCluster.start() as cluster:
        yield cluster


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The shared server's URL, flushed; on the ``sentinel`` backend the Sentinel set's, on
    the ``cluster`` backend the shared cluster's."""
    callspec = getattr(request.node, "callspec", None)
    backend = None if callspec is None else callspec.params.get("backend")
    if backend == "sentinel":
        url: str = request.getfixturevalue("sentinel_url")
        return url
    if backend == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    redis_server: RedisServer = request.getfixturevalue("redis_server")
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    name: str = request.param
    return name


@pytest.fixture
def clock() -> ManualClock:
    """The clock of the memory backend."""
    return ManualClock()


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings selecting ``backend`` (a flushed redis-server for redis, the flushed cluster
    for cluster)."""
    if backend == "memory":
        return Settings(redis_url=None)
    return Settings(redis_url=request.getfixturevalue("redis_url"))


@pytest.fixture
async def manager(settings: Settings, clock: ManualClock) -> AsyncIterator[CacheManager]:
    """An initialised manager on the backend under test."""
    async with CacheManager(settings, clock=clock) as cache:
        yield cache


@pytest.fixture
def server(backend: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A plain synchronous client of the backend under test's data (None on memory): to read
    what the server holds, e.g. a key's ``PTTL``, instead of waiting for it to expire."""
    if backend == "memory":
        yield None
        return
    url: str = request.getfixturevalue("redis_url")
    if backend == "cluster":
        port = next(iter(request.getfixturevalue("redis_cluster").servers))
        with redis.RedisCluster(host="127.0.0.1", port=port) as cluster:
            yield cluster
        return
    with raw_redis(url) as client:
        yield client


@pytest.fixture
def elapse(backend: str, clock: ManualClock) -> Elapse:
    """Let ``seconds`` pass for the backend under test."""

    async def move(seconds: float) -> None:
        if backend == "memory":
            clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)

    return move
