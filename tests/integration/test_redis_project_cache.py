"""Redis-only properties of the project cache: round trips, key layout, scripts, concurrency."""

from __future__ import annotations

import asyncio
import random
from uuid import uuid4

import redis
import redis.asyncio as aioredis

from jeex_cache import CacheManager, CacheTag, Settings
from tests.integration.conftest import RoundTrips


async def test_every_cache_operation_is_one_pipeline_per_step(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    # Commands the server runs (a pipeline of k counts k). One round trip each on a single
    # server, except the invalidations: a read of the keys, then a script declaring them.
    project = uuid4()
    operations = [
        # the two tags' registries, then the entry: one pipeline, in that order
        (lambda: cache.cache_project_data(project, {"a": 1}, tags=["t1", "t2"], version=3), 3),
        (lambda: cache.get_project_data(project), 1),
        (lambda: cache.get_project_entry(project), 1),
        (lambda: cache.list_project_keys(project), 1),
        (lambda: cache.project(project).set("x", 1, tags=["t1"]), 2),
        (lambda: cache.project(project).set("y", 1), 1),
        # read the tag index; one script removes what it listed (2 round trips)
        (lambda: cache.project(project).invalidate_tag("t1"), 2),
        (lambda: cache.delete_project_data(project), 1),
        # revoke the fill tokens and read the index and tag set (one script); one script
        # removes them (2 round trips)
        (lambda: cache.invalidate_project_cache(project), 2),
        (lambda: cache.invalidate_project_cache(project), 1),  # nothing listed: one script
    ]
    for operation, commands in operations:
        before = round_trips.count
        await operation()  # type: ignore[no-untyped-call]
        assert round_trips.count - before == commands


async def test_invalidate_by_tag_is_three_round_trips_whatever_the_project_count(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    for _ in range(30):
        await cache.cache_project_data(uuid4(), {"a": 1}, tags=["wide"])
    await cache.cache_project_data(uuid4(), {"a": 1})
    before = round_trips.count
    assert await cache.invalidate_by_tag("wide") == 30
    # Prune and read the tag's registry (one pipeline), one pipeline reading each project's
    # index of the tag, then one pipeline of a script call per project.
    assert round_trips.count - before == 2 + 30 + 30


async def test_client_never_scans_the_keyspace(cache: CacheManager, raw: redis.Redis) -> None:
    raw.config_resetstat()
    project = uuid4()
    await cache.cache_project_data(project, 1, tags=["t"])
    await cache.invalidate_by_tag("t")
    await cache.cache_project_data(project, 1)
    await cache.list_project_keys(project)
    await cache.invalidate_project_cache(project)
    stats = raw.info("commandstats")
    assert not {"cmdstat_scan", "cmdstat_keys"} & set(stats)


async def test_keyspace_holds_only_namespaced_project_keys(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    await cache.cache_project_data(project, {"a": 1}, tags=["t"])
    await cache.project(project).set("x", 2)
    keys = sorted(key.decode() for key in raw.scan_iter("*"))
    prefix = f"jeex:proj:{{{project}}}:"
    assert keys == sorted(
        [
            f"{prefix}data",
            f"{prefix}index",
            f"{prefix}kv:x",
            f"{prefix}tag:t",
            f"{prefix}tags",
            "jeex:tag:{t}:projects",
        ]
    )


async def test_indexes_never_expire_before_their_entries(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    view = cache.project(project)
    await view.set("long", 1, ttl=600, tags=["t"])
    await view.set("short", 1, ttl=5, tags=["t"])
    prefix = f"jeex:proj:{{{project}}}:"
    keys = [f"{prefix}kv:long", f"{prefix}index", f"{prefix}tags", f"{prefix}tag:t"]
    keys.append("jeex:tag:{t}:projects")
    # Read every PTTL inside one script: the server's clock stands still for its duration.
    read_all = "local r = {} for i, k in ipairs(KEYS) do r[i] = redis.call('PTTL', k) end return r"
    entry_ttl, *index_ttls = raw.eval(read_all, len(keys), *keys)
    assert entry_ttl > 590_000
    assert all(ttl >= entry_ttl for ttl in index_ttls)


async def test_namespace_setting_prefixes_every_key(redis_url: str, raw: redis.Redis) -> None:
    async with CacheManager(Settings(redis_url=redis_url, cache_namespace="tenant-a")) as cache:
        await cache.cache_project_data(uuid4(), 1, tags=["t"])
    assert all(key.startswith(b"tenant-a:") for key in raw.scan_iter("*"))


async def test_scripts_reload_after_the_server_forgets_them(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    raw.script_flush()
    assert await cache.cache_project_data(project, {"a": 1}) is True
    assert await cache.get_project_data(project) == {"a": 1}


async def test_concurrent_writers_on_separate_connections_keep_the_newest(
    redis_url: str, round_trips: RoundTrips
) -> None:
    """Four managers (own pools) race 400 versioned writes; the newest version wins, and
    each write is stored iff it is not older than what was stored when it ran (the order
    the server ran them in, as MONITOR saw it)."""
    project = uuid4()
    versions = list(range(1, 401))
    random.Random(7).shuffle(versions)
    managers = [CacheManager(Settings(redis_url=redis_url)) for _ in range(4)]
    for manager in managers:
        await manager.initialize()
        await manager.write_project_data(uuid4(), {}, version=1)  # its scripts are loaded
    try:
        results = await asyncio.gather(
            *(
                managers[i % 4].write_project_data(project, {"v": v}, version=v)
                for i, v in enumerate(versions)
            )
        )
        round_trips.count  # noqa: B018 - the monitor has seen every write
        ran = [_version_written(c) for c in round_trips.commands if str(project) in c]
        entry = await managers[0].get_project_entry(project)
    finally:
        for manager in managers:
            await manager.close()
    assert entry is not None
    assert (entry.version, entry.data) == (400, {"v": 400})
    assert sorted(ran) == list(range(1, 401))  # one script call per write
    newest, expected = 0, {}
    for version in ran:
        expected[version] = (version >= newest, max(version, newest))
        newest = max(version, newest)
    outcomes = {v: (r.stored, r.version) for v, r in zip(versions, results, strict=True)}
    assert outcomes == expected  # stored, or refused with the newer version then stored
    assert 1 < sum(r.stored for r in results) < 400


def _version_written(command: str) -> int:
    """The version argument of a ``project_set`` call (``EVALSHA sha n keys... payload ttl
    version ...``, as MONITOR shows it)."""
    words = command.split(" ")
    assert words[0] in ("EVALSHA", "EVAL"), command
    return int(words[3 + int(words[2]) + 2])


async def test_wrong_type_under_a_key_is_a_backend_failure_not_a_crash(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    raw.set(f"jeex:proj:{{{project}}}:data", "not a hash")
    assert await cache.get_project_data(project) is None
    assert await cache.cache_project_data(project, 1) is False
    assert cache.failure_tracker.failures


async def test_cross_project_tag_with_many_projects(cache: CacheManager) -> None:
    projects = [uuid4() for _ in range(1200)]  # more than one pipeline chunk
    written = await asyncio.gather(  # all at once: callers queue on the transport, none fails
        *(cache.cache_project_data(p, 1, tags=[CacheTag("bulk")]) for p in projects)
    )
    assert all(written)
    assert await cache.invalidate_by_tag("bulk") == 1200


async def test_raw_client_sees_the_payload_as_json(cache: CacheManager, redis_url: str) -> None:
    project = uuid4()
    await cache.cache_project_data(project, {"name": "x"})
    client = aioredis.Redis.from_url(redis_url)
    try:
        payload = await client.hget(f"jeex:proj:{{{project}}}:data", "d")
    finally:
        await client.aclose()
    assert payload == b'{"name":"x"}'
