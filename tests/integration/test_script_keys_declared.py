"""Every script declares every key it touches, in one slot; every multi-key command is
single-slot. Audited at the server: every public operation runs (``exercise()`` of the
no-secrets suite) on a one-node Redis Cluster under ``MONITOR``. For each command a script
ran (MONITOR's ``lua`` lines follow their EVALSHA) ``COMMAND GETKEYS`` names its keys, and
each must be among that call's declared KEYS. A cluster node also refuses CROSSSLOT on the
declared keys (Redis 7.0 does not refuse undeclared ones on its own node: hence MONITOR).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.core.scripts import loaded
from jeex_cache.core.transport.router import key_slot
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks.redis import RedisTaskQueueRepository
from jeex_cache.testing import RedisServer
from tests.contract.test_no_secrets import Run, exercise

_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.DOTALL)
_CONTROL = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"a": b"\a"}


def _unescape(arg: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1] == b"x" and len(code) == 3:
            return bytes([int(code[1:], 16)])
        return _CONTROL.get(code, code)

    return _ESCAPE.sub(one, arg)


@dataclass
class Monitor:
    """Every command the server runs, as (client, args), read by a thread of its own."""

    url: str
    lines: list[tuple[str, list[bytes]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Kept: the client's end would close the monitor's connection. Any: monitor() is
        # typed in some redis-py versions only.
        self._monitor_client = redis.Redis.from_url(self.url)
        untyped: Any = self._monitor_client
        self._monitor = untyped.monitor()
        self._monitor.__enter__()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        connection = self._monitor.connection
        while not self._stop.is_set():
            line = connection.read_response()
            if not isinstance(line, bytes) or b" [" not in line:
                continue
            client = line.split(b" [", 1)[1].split(b"] ", 1)[0].split(b" ", 1)[-1]
            body = line.split(b"] ", 1)[1]
            args = [_unescape(arg) for arg in _ARG.findall(body)]
            self.lines.append((client.decode(), args))
            if args[:2] == [b"ECHO", b"jeex-audit-end"]:
                return

    def stop(self) -> None:
        with redis.Redis.from_url(self.url) as client:
            client.echo("jeex-audit-end")
        self._thread.join(10)
        self._monitor.__exit__(None, None, None)


@pytest.fixture(scope="module")
def cluster_node() -> Iterator[RedisServer]:
    """A one-node Redis Cluster that owns every slot."""
    args = ("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
    with RedisServer.start(*args, port=_bus_safe_port()) as node:
        with redis.Redis.from_url(node.plain_url) as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            deadline = time.monotonic() + 20
            while client.cluster("info")["cluster_state"] != "ok":
                assert time.monotonic() < deadline, "the one-node cluster never came up"
                time.sleep(0.05)
        yield node


def _bus_safe_port() -> int:
    """A free port whose cluster bus port (+10000) is valid and free too."""
    for _ in range(100):
        port = random.randrange(20_000, 55_535)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise AssertionError("no free port pair below 55535")


def _script_names() -> dict[bytes, str]:
    return {script.sha: script.name for script in loaded()}


def _keys_of(
    client: redis.Redis, args: list[bytes], cache: dict[tuple[bytes, ...], list[bytes]]
) -> list[bytes]:
    shape = tuple(args)
    if shape not in cache:
        try:
            keys = client.command_getkeys(*args)
            cache[shape] = [k if isinstance(k, bytes) else k.encode() for k in keys]
        except redis.ResponseError:  # no key arguments (TIME, PING, ...)
            cache[shape] = []
    return cache[shape]


def audit(lines: list[tuple[str, list[bytes]]], url: str) -> tuple[list[str], set[str]]:
    """(problems found, names of the scripts seen) in what MONITOR reported."""
    names = _script_names()
    problems: list[str] = []
    seen: set[str] = set()
    declared: list[bytes] | None = None
    script = ""
    getkeys: dict[tuple[bytes, ...], list[bytes]] = {}
    with redis.Redis.from_url(url) as client:
        for who, args in lines:
            if not args:
                continue
            verb = args[0].upper()
            if who == "lua":
                if declared is None:
                    continue
                for key in _keys_of(client, args, getkeys):
                    if key not in declared:
                        problems.append(f"{script}: {verb.decode()} touches undeclared {key!r}")
                continue
            declared = None
            if verb in (b"EVALSHA", b"EVAL"):
                sha = args[1] if verb == b"EVALSHA" else hashlib.sha1(args[1]).hexdigest().encode()
                script = names.get(sha, sha.decode())
                seen.add(script)
                declared = args[3 : 3 + int(args[2])]
                if len({key_slot(key) for key in declared}) > 1:
                    problems.append(f"{script}: declared keys span slots: {declared!r}")
            elif verb not in (b"COMMAND", b"MONITOR"):
                keys = _keys_of(client, args, getkeys)
                if len({key_slot(key) for key in keys}) > 1:
                    problems.append(f"{verb.decode()} spans slots: {keys!r}")
    return problems, seen


async def loads_waited_for_and_extended(url: str) -> None:
    """The loaders' lease steps: a holder whose lease is extended, a second manager that
    finds the lease and waits for it (``lease_watch``, then its BLPOP), and near-cache reads
    (``project_get_near``)."""
    project = uuid4()
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow() -> dict[str, int]:
        started.set()
        await finish.wait()
        return {"v": 1}

    short = Settings(redis_url=url, cache_loader_lease_seconds=0.3)
    near = Settings(redis_url=url, near_cache_max_bytes=100_000)
    async with CacheManager(short) as holder, CacheManager(near) as other:
        loading = asyncio.create_task(holder.get_or_load_project_data(project, slow, 60))
        await started.wait()
        waiting = asyncio.create_task(other.get_or_load_project_data(project, slow, 60))
        await asyncio.sleep(1.0)  # over three leases long: extended even on a busy loop
        finish.set()
        assert await loading == await waiting == {"v": 1}
        for _ in range(3):
            assert await other.get_project_data(project) == {"v": 1}


async def a_worker_woken_to_stop(cache: CacheManager) -> None:
    """An idle worker's waiter, interrupted (``task_interrupt``), as a stopping worker is."""
    backend = cache._backend
    assert backend is not None
    repository = backend.repositories["tasks"]
    assert isinstance(repository, RedisTaskQueueRepository)
    waiter = await repository.open_waiter("audit", 5.0)
    try:
        waiting = asyncio.create_task(waiter.wait(5.0))
        await waiter.interrupt()
        assert await waiting
    finally:
        await waiter.close()


async def test_every_script_declares_its_keys_in_one_slot(cluster_node: RedisServer) -> None:
    settings = Settings(redis_url=cluster_node.plain_url)
    async with CacheManager(settings) as cache:
        await cache.health_check()
        monitor = Monitor(cluster_node.plain_url)
        try:
            await exercise(cache, Run(down=False))
            more = await cache.cache_project_data(
                "6f1c56a4-8b53-4a3e-9d0a-52b9e0f1a2b3", {"x": 1}, tags=["a", "b", "c"]
            )
            assert more  # several tags, each registry in a slot of its own: stored
            assert await cache.invalidate_by_tag("b") == 1
            # A task's progress owner (enqueue_task(project_id=...), the step after the
            # enqueue), called directly.
            assert await vars(cache)["_progress"].assign(f"op-{uuid4().hex}", uuid4(), TTL(60_000))
            await loads_waited_for_and_extended(cluster_node.plain_url)
            await a_worker_woken_to_stop(cache)
        finally:
            monitor.stop()
        # The failure table hides a refused script (a write says False): none may have failed.
        assert cache.failure_tracker.failures == {}
    problems, seen = audit(monitor.lines, cluster_node.plain_url)
    assert problems == []
    ours = {script.name for script in loaded()}
    assert ours - seen == set(), sorted(ours - seen)  # every script of ours was audited
