"""Loaders on a cluster: a manager that finds another's lease waits on the lease's own node
(its BLPOP routed by slot, through a per-node client of the wait's timeout) and gets the
holder's value; it never loads a second time."""

from __future__ import annotations

import asyncio
import time
import uuid

from jeex_cache import CacheManager, Settings
from jeex_cache.core.transport import key_slot
from jeex_cache.testing import RedisCluster


def project_off_the_first_seed(cluster: RedisCluster) -> uuid.UUID:
    """A project whose slot another master than the first seed serves (where a client that
    ignored the slot map would send its BLPOP)."""
    first = cluster.masters()[0]
    while True:
        candidate = uuid.uuid4()
        if cluster.master_of(key_slot(str(candidate))) != first:
            return candidate


async def test_a_second_manager_waits_on_the_leases_node_and_gets_the_holders_value(
    cache: CacheManager, cluster: RedisCluster
) -> None:
    project = project_off_the_first_seed(cluster)
    loads: list[str] = []
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow() -> dict[str, int]:
        loads.append("holder")
        started.set()
        await finish.wait()
        return {"v": 1}

    async def second_load() -> dict[str, int]:
        loads.append("waiter")
        return {"v": 2}

    namespace = Settings().cache_namespace
    waiters = f"{namespace}:proj:{{{project}}}:lease-waiters:data"
    owner = cluster.master_of(key_slot(str(project)))
    async with CacheManager(Settings(redis_url=cluster.url)) as other:
        holder = asyncio.create_task(cache.get_or_load_project_data(project, slow, 60))
        await started.wait()
        with cluster.client(owner) as node:
            node.config_resetstat()
            waiter = asyncio.create_task(other.get_or_load_project_data(project, second_load, 60))
            deadline = time.monotonic() + 30
            while not node.exists(waiters):  # the waiter has registered: it is in its BLPOP
                assert time.monotonic() < deadline, "the second manager never waited"
                await asyncio.sleep(0.01)
            finish.set()
            assert await holder == {"v": 1}
            assert await waiter == {"v": 1}
            blocked = node.info("commandstats").get("cmdstat_blpop", {"calls": 0})["calls"]
    assert loads == ["holder"]
    assert blocked >= 1  # the wait blocked on the lease's node, not on a seed answering MOVED
