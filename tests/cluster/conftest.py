"""Fixtures of the Redis Cluster suite: the session's shared cluster (flushed), a manager on
it, private clusters for the tests that move slots or kill nodes, and small helpers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.transport import ClusterRouter, key_slot
from jeex_cache.testing import RedisCluster


@pytest.fixture
def cluster(redis_cluster: RedisCluster) -> RedisCluster:
    """The session's cluster, flushed."""
    redis_cluster.flush()
    return redis_cluster


@pytest.fixture
async def cache(cluster: RedisCluster) -> AsyncIterator[CacheManager]:
    async with CacheManager(Settings(redis_url=cluster.url)) as manager:
        yield manager


@pytest.fixture
def private_cluster() -> Iterator[RedisCluster]:
    """A cluster of this test alone (it moves slots or kills nodes)."""
    with RedisCluster.start() as own:
        yield own


def executor_of(cache: CacheManager) -> RedisExecutor:
    backend = cache._backend
    assert backend is not None
    assert backend.executor is not None
    return backend.executor


def router_of(cache: CacheManager) -> ClusterRouter:
    router = executor_of(cache).router
    assert isinstance(router, ClusterRouter)
    return router


def ids_in_slot(slot: int, count: int) -> list[uuid.UUID]:
    """``count`` UUIDs whose hash tag falls in ``slot``."""
    found: list[uuid.UUID] = []
    while len(found) < count:
        candidate = uuid.uuid4()
        if key_slot(str(candidate)) == slot:
            found.append(candidate)
    return found


def move_slot(
    cluster: RedisCluster, slot: int, target: int, *, batch: int = 10, between: float = 0.0
) -> None:
    """Migrate ``slot`` (keys included, ``batch`` keys per MIGRATE) to the master on
    ``target``, as ``redis-cli --cluster reshard`` does; ``between``: a pause per MIGRATE."""
    source = cluster.master_of(slot)
    source_id, target_id = cluster.node_id(source), cluster.node_id(target)
    with cluster.client(source) as src, cluster.client(target) as dst:
        dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
        src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
        while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, batch):
            src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
            time.sleep(between)
        # The new owner first, then the old one: else each would send the other MOVED.
        others = [port for port in cluster.masters() if port not in (source, target)]
        for port in (target, source, *others):
            with cluster.client(port) as client:
                client.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)


async def wait_for(check: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def promoted(
    cluster: RedisCluster, killed: int, within: float = 30.0, every: float = 0.05
) -> float:
    """Wait until every live node agrees that a replica took over from ``killed``: each shows
    three live masters, none the killed one, and serves no slot from it in ``CLUSTER SLOTS``.
    Return when (monotonic) that was first seen, polling every ``every`` seconds. One node's
    view is not enough: gossip reaches the others a moment later, and a test that then asks
    another node who serves a slot would still hear the killed port."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _all_agree_on_promotion(cluster, killed):
            return time.monotonic()
        time.sleep(every)
    raise AssertionError("no replica was promoted")


def _all_agree_on_promotion(cluster: RedisCluster, killed: int) -> bool:
    for port, server in cluster.servers.items():
        if port == killed or not server.running:
            continue
        try:
            with cluster.client(port) as client:
                nodes = client.cluster("NODES")
                slots = client.execute_command("CLUSTER SLOTS")
        except Exception:  # a node busy failing over: ask again
            return False
        masters = {
            int(address.rsplit(":", 1)[1])
            for address, node in nodes.items()
            if "master" in node["flags"] and "fail" not in node["flags"]
        }
        if len(masters) != 3 or killed in masters:
            return False
        if any(int(master[1]) == killed for _, _, master, *_ in slots):
            return False
    return True
