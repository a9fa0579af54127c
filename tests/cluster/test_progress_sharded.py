"""Progress on a cluster: events go over sharded pub/sub, to the shard of their record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

from jeex_cache import CacheManager, Settings
from jeex_cache.core.transport import key_slot
from jeex_cache.testing import RedisCluster
from tests.cluster.conftest import wait_for


async def collect(events: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in events]


async def test_events_are_spublished_on_the_shard_of_their_record(
    cache: CacheManager, cluster: RedisCluster
) -> None:
    cid = uuid4()
    channel = f"jeex:progress:{{{cid}}}:events"
    owner = cluster.master_of(key_slot(channel))
    other = next(port for port in cluster.masters() if port != owner)
    with cluster.client(owner) as sharded_client, cluster.client(other) as plain_client:
        sharded, plain = sharded_client.pubsub(), plain_client.pubsub()
        sharded.ssubscribe(channel)
        plain.subscribe(channel)  # a PUBLISH would reach it on any node; SPUBLISH does not
        assert sharded.get_sharded_message(timeout=2)["type"] == "ssubscribe"
        assert plain.get_message(timeout=2)["type"] == "subscribe"
        await cache.start_progress_tracking(cid, 3)
        await cache.increment_progress(cid, "one")
        received = [sharded.get_sharded_message(timeout=2) for _ in range(2)]
        assert [m["type"] for m in received if m] == ["smessage", "smessage"]
        assert plain.get_message(timeout=0.5) is None
        sharded.close()
        plain.close()


async def test_a_listener_on_another_manager_sees_every_event(cluster: RedisCluster) -> None:
    async with (
        CacheManager(Settings(redis_url=cluster.url)) as reporter,
        CacheManager(Settings(redis_url=cluster.url)) as watcher,
    ):
        operations = [uuid4() for _ in range(6)]  # over several shards
        for cid in operations:
            await reporter.start_progress_tracking(cid, 3)
        listeners = [asyncio.create_task(collect(watcher.progress_events(c))) for c in operations]
        await wait_for(lambda: all(not t.done() for t in listeners), "listeners")
        await asyncio.sleep(0.2)
        for cid in operations:
            await reporter.increment_progress(cid, "one")
            await reporter.complete_progress(cid, "done")
        results = await asyncio.wait_for(asyncio.gather(*listeners), 20)
    assert all([e.message for e in events] == ["", "one", "done"] for events in results)
