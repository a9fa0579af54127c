"""Routing on a cluster: each key on the master of its slot, batches split per node, blocking
commands on the key's node, scripts on a node that never had them loaded."""

from __future__ import annotations

import asyncio
import hashlib
from uuid import uuid4

from jeex_cache import CacheManager
from jeex_cache.core.scripts import Command, LuaScript, ScriptCall
from jeex_cache.core.transport import key_slot
from jeex_cache.testing import RedisCluster
from tests.cluster.conftest import executor_of, router_of
from tests.conftest import eventually

_SOURCE = "return ARGV[1]"
ECHO = LuaScript("echo", _SOURCE, hashlib.sha1(_SOURCE.encode()).hexdigest().encode())


async def test_each_key_lives_on_the_master_that_owns_its_slot(
    cache: CacheManager, cluster: RedisCluster
) -> None:
    projects = [uuid4() for _ in range(60)]
    writes = await asyncio.gather(*(cache.cache_project_data(p, {"p": str(p)}) for p in projects))
    assert all(writes)
    reads = await asyncio.gather(*(cache.get_project_data(p) for p in projects))
    assert reads == [{"p": str(p)} for p in projects]
    holders = 0
    for port in cluster.masters():
        with cluster.client(port) as client:
            keys = client.keys("*")
        holders += bool(keys)
        assert all(cluster.master_of(key_slot(key)) == port for key in keys)
    assert holders == 3  # 60 projects spread over every master
    assert not cache.failure_tracker.failures


async def test_a_batch_over_many_slots_keeps_its_order(cache: CacheManager) -> None:
    executor = executor_of(cache)
    keys = [f"jeex:test:{{{uuid4()}}}" for _ in range(40)]
    assert len({router_of(cache).route(key) for key in keys}) == 3
    writes: list[Command] = [("SET", key, str(i)) for i, key in enumerate(keys)]
    assert await executor.batch(writes) == [b"OK"] * 40
    reads: list[Command] = [("GET", key) for key in keys]
    assert await executor.batch(reads) == [str(i).encode() for i in range(40)]


async def test_blocking_commands_run_on_the_node_of_their_key(
    cache: CacheManager, cluster: RedisCluster
) -> None:
    executor = executor_of(cache)
    for _ in range(6):
        key = f"jeex:test:{{{uuid4()}}}"
        client = executor.dedicated_client(key)
        assert client.connection_pool.connection_kwargs["port"] == cluster.master_of(key_slot(key))
        assert await executor.command("BLPOP", key, "0.01") is None  # no MOVED
        await executor.command("RPUSH", key, "x")
        assert await executor.command("BLPOP", key, "0.01") == (key.encode(), b"x")


async def test_a_flushed_script_cache_fails_no_call(
    cache: CacheManager, cluster: RedisCluster
) -> None:
    for port in cluster.masters():
        with cluster.client(port) as client:
            client.script_flush()
    projects = [uuid4() for _ in range(30)]
    assert all(await asyncio.gather(*(cache.cache_project_data(p, 1) for p in projects)))
    assert await asyncio.gather(*(cache.get_project_data(p) for p in projects)) == [1] * 30
    assert not cache.failure_tracker.failures


async def test_a_batch_of_flushed_scripts_costs_one_load_per_node(
    cache: CacheManager, cluster: RedisCluster
) -> None:
    executor = executor_of(cache)
    keys = [f"jeex:test:{{{uuid4()}}}" for _ in range(40)]
    assert len({router_of(cache).route(key) for key in keys}) == 3
    for port in cluster.masters():
        with cluster.client(port) as client:
            client.script_flush()
            client.config_resetstat()
    calls = [ScriptCall(ECHO, [key], [str(i)]) for i, key in enumerate(keys)]
    assert await executor.batch(calls) == [str(i).encode() for i in range(40)]
    for port in cluster.masters():
        with cluster.client(port) as client:
            assert client.info("commandstats")["cmdstat_script|load"]["calls"] == 1


async def test_a_storm_of_errors_costs_one_refresh(cache: CacheManager) -> None:
    router = router_of(cache)
    before = router.refreshes
    for _ in range(200):
        router.refresh_soon()
    await eventually(lambda: router.refreshes > before)
    await asyncio.sleep(0.5)  # were a second refresh scheduled, it would be due by now
    assert router.refreshes == before + 1
