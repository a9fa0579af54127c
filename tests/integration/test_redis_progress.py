"""Redis-only properties of progress tracking: round trips, keys, TTLs, the shared listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import orjson
import redis

from jeex_cache import CacheManager, ProgressEvent, ProgressOutcome, Settings
from tests.integration.conftest import RoundTrips

WAIT = 5.0


async def collect(events: AsyncIterator[ProgressEvent]) -> list[ProgressEvent]:
    async with asyncio.timeout(WAIT):
        return [event async for event in events]


def subscriber_clients(raw: redis.Redis) -> list[dict[str, Any]]:
    return [c for c in raw.client_list() if int(c.get("sub", 0)) > 0]


async def wait_for(condition: Any, what: str) -> None:
    """Poll ``condition`` (state outside this process) for up to ``WAIT`` seconds."""
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


async def test_every_progress_operation_is_one_round_trip(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    cid = uuid4()
    operations = [
        lambda: cache.start_progress_tracking(cid, 5, "go"),
        lambda: cache.increment_progress(cid, "one"),
        lambda: cache.update_progress(cid, 3, "three"),
        lambda: cache.update_progress(cid, 1, "refused"),
        lambda: cache.get_progress(cid),
        lambda: cache.complete_progress(cid, "done"),
        lambda: cache.fail_progress(cid, "refused"),
        lambda: cache.increment_progress(uuid4(), "unknown"),
        lambda: cache.start_progress_tracking(cid, 5, restart=True),
        lambda: cache.fail_progress(cid, "boom"),
    ]
    for operation in operations:
        before = round_trips.count
        await operation()  # type: ignore[no-untyped-call]
        assert round_trips.count - before == 1


async def test_keys_share_one_hash_tag_and_expire_together(
    cache: CacheManager, raw: redis.Redis
) -> None:
    cid = uuid4()
    await cache.start_progress_tracking(cid, 5)
    await cache.increment_progress(cid, "one")
    record, events = f"jeex:progress:{{{cid}}}", f"jeex:progress:{{{cid}}}:events"
    assert sorted(k.decode() for k in raw.scan_iter("*")) == [record, events]
    assert raw.type(record) == b"hash"
    assert raw.type(events) == b"stream"
    assert raw.xlen(events) == 2
    ttl = 1_800_000
    assert ttl - 5_000 < raw.pttl(record) <= ttl
    assert ttl - 5_000 < raw.pttl(events) <= ttl

    # A refused update touches nothing, not even the expiry.
    raw.pexpire(record, 60_000)
    raw.pexpire(events, 60_000)
    assert (await cache.update_progress(cid, 0)).outcome is ProgressOutcome.BACKWARDS
    assert raw.pttl(record) <= 60_000
    assert raw.pttl(events) <= 60_000
    assert raw.xlen(events) == 2
    assert await cache.increment_progress(cid, "two")
    assert raw.pttl(record) > 60_000
    assert raw.pttl(events) > 60_000


async def test_an_owner_waiting_for_its_task_is_one_expiring_field(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    task_id = await cache.enqueue_task("jobs", "work", None, delay=60, project_id=project)
    record = f"jeex:progress:{{{task_id}}}"
    assert raw.hgetall(record) == {b"pj": str(project).encode()}
    day = 86_400_000
    assert day < raw.pttl(record) <= day + 60_000  # the delay plus the task status TTL
    # Until the start, every reader sees an unknown operation.
    assert await cache.get_progress(task_id) is None
    assert (await cache.increment_progress(task_id)).outcome is ProgressOutcome.UNKNOWN
    assert [event async for event in cache.progress_events(task_id)] == []
    # The start takes the owner, and the record's expiry becomes the progress TTL.
    started = await cache.start_progress_tracking(task_id, 2, restart=True)
    assert started.progress is not None
    assert started.progress.project_id == project
    assert raw.pttl(record) <= 1_800_000


async def test_the_stream_is_capped_exactly(redis_url: str, raw: redis.Redis) -> None:
    async with CacheManager(Settings(redis_url=redis_url, cache_progress_max_events=10)) as cache:
        cid = uuid4()
        await cache.start_progress_tracking(cid, 1000)
        for _ in range(25):
            await cache.increment_progress(cid)
    assert raw.xlen(f"jeex:progress:{{{cid}}}:events") == 10


async def test_listeners_hold_no_pooled_connection(redis_url: str, raw: redis.Redis) -> None:
    """40 listeners on a pool of 2: one subscriber connection, and cache calls still flow."""
    settings = Settings(redis_url=redis_url, redis_max_connections=2)
    async with CacheManager(settings) as cache:
        operations = [uuid4() for _ in range(20)]
        for cid in operations:
            await cache.start_progress_tracking(cid, 3)
        listeners = [
            asyncio.create_task(collect(cache.progress_events(cid)))
            for cid in operations
            for _ in range(2)
        ]
        await wait_for(
            lambda: sum(int(c["sub"]) for c in subscriber_clients(raw)) == 20, "subscriptions"
        )
        assert len(subscriber_clients(raw)) == 1
        writes = await asyncio.gather(
            *(cache.cache_project_data(uuid4(), {"n": i}) for i in range(50))
        )
        assert all(writes)
        assert not cache.failure_tracker.failures
        for cid in operations:
            await cache.increment_progress(cid, "one")
            await cache.complete_progress(cid, "done")
        results = await asyncio.gather(*listeners)
    assert all([e.kind.value for e in events] == ["started", "progress", "completed"]
               for events in results)  # fmt: skip
    await wait_for(lambda: not subscriber_clients(raw), "unsubscribed")


async def test_a_listener_sees_updates_made_elsewhere(redis_url: str) -> None:
    """Reporter and listener on separate managers (separate connections), as across processes."""
    async with (
        CacheManager(Settings(redis_url=redis_url)) as reporter,
        CacheManager(Settings(redis_url=redis_url)) as watcher,
    ):
        cid = uuid4()
        await reporter.start_progress_tracking(cid, 3)
        listener = asyncio.create_task(collect(watcher.progress_events(cid)))
        for step in range(1, 3):
            await asyncio.sleep(0.02)
            await reporter.increment_progress(cid, f"step {step}")
        await reporter.complete_progress(cid, "done")
        events = await listener
    assert [e.message for e in events] == ["", "step 1", "step 2", "done"]


async def test_a_dropped_subscriber_connection_loses_no_event(
    cache: CacheManager, raw: redis.Redis
) -> None:
    cid = uuid4()
    await cache.start_progress_tracking(cid, 6)
    listener = asyncio.create_task(collect(cache.progress_events(cid, check_every=0.2)))
    await wait_for(lambda: subscriber_clients(raw), "subscribed")
    await cache.increment_progress(cid, "one")
    raw.client_kill_filter(_type="pubsub")
    for step in range(2, 5):
        await cache.increment_progress(cid, f"#{step}")
    await wait_for(lambda: subscriber_clients(raw), "subscribed again")
    await cache.complete_progress(cid, "done")
    events = await listener
    assert [e.current_step for e in events] == [0, 1, 2, 3, 4, 6]
    assert len({e.id for e in events}) == len(events)


async def test_a_stray_message_is_never_taken_for_an_event(
    cache: CacheManager, raw: redis.Redis
) -> None:
    """Live events are only trusted when they follow the last one seen; the log decides."""
    cid = uuid4()
    await cache.start_progress_tracking(cid, 3)
    listener = asyncio.create_task(collect(cache.progress_events(cid, check_every=0.2)))
    await wait_for(lambda: subscriber_clients(raw), "subscribed")
    channel = f"jeex:progress:{{{cid}}}:events"
    raw.publish(channel, b"not json")
    stray = ["9999999999999-0", "1-0", "progress", "2", "3", "forged", "", "1"]
    raw.publish(channel, orjson.dumps(stray))
    await cache.increment_progress(cid, "real")
    await cache.complete_progress(cid, "done")
    events = await listener
    assert [e.message for e in events] == ["", "real", "done"]


async def test_scripts_reload_after_the_server_forgets_them(
    cache: CacheManager, raw: redis.Redis
) -> None:
    cid = uuid4()
    raw.script_flush()
    assert await cache.start_progress_tracking(cid, 2)
    raw.script_flush()
    assert await cache.increment_progress(cid)
    raw.script_flush()
    await cache.complete_progress(cid)
    assert [e.current_step for e in await collect(cache.progress_events(cid))] == [0, 1, 2]


async def test_unicode_and_json_like_messages_survive(cache: CacheManager) -> None:
    cid = uuid4()
    message = 'Génération "architecture" / 設計 \\ {"k": [1]}\n🚀'
    await cache.start_progress_tracking(cid, 2)
    listener = asyncio.create_task(collect(cache.progress_events(cid)))
    await asyncio.sleep(0.05)
    await cache.increment_progress(cid, message)
    await cache.fail_progress(cid, message)
    events = await listener
    assert [e.message for e in events] == ["", message, message]
    assert events[-1].error == message
