"""Invalidation wins at no cost to the hit path: counted at the server (MONITOR), a hit is
still one script, a flight still four (read, lease with its fill token, write, release);
the fill tokens live only while loads are in flight."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import uuid4

import redis

from jeex_cache import CacheManager
from jeex_cache.project_cache.model import LoadSource
from tests.integration.conftest import RoundTrips


async def row() -> dict[str, int]:
    return {"version": 1}


async def test_a_hit_is_one_script_and_a_flight_four(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    project = uuid4()
    flight = await round_trips.of(lambda: cache.read_or_load_project_data(project, row, 60))
    assert flight == 4  # read, lease + fill token, write (checks the token), release
    hit = await round_trips.of(lambda: cache.read_or_load_project_data(project, row, 60))
    assert hit == 1
    assert await round_trips.of(lambda: cache.get_project_data(project)) == 1
    tagged = await round_trips.of(
        lambda: cache.read_or_load_project_data(uuid4(), row, 60, tags=["t"])
    )
    # Commands: the tag's registry rides in the lease's pipeline and in the write's, each
    # before the project's step (still four round trips on one server).
    assert tagged == 4 + 2


async def test_fill_tokens_live_only_while_a_load_is_in_flight(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    fills = f"jeex:proj:{{{project}}}:fills"
    started, go = asyncio.Event(), asyncio.Event()

    async def gated() -> dict[str, int]:
        started.set()
        await go.wait()
        return {"version": 1}

    task = asyncio.create_task(cache.read_or_load_project_data(project, gated, 60))
    await started.wait()
    assert raw.hlen(fills) == 1
    assert 0 < raw.pttl(fills) <= 10_000  # as long as the lease (CACHE_LOADER_LEASE_SECONDS)
    go.set()
    assert (await task).source is LoadSource.LOADED
    assert not raw.exists(fills)

    async def failing() -> None:
        raise RuntimeError("database down")

    other = uuid4()
    with contextlib.suppress(RuntimeError):
        await cache.read_or_load_project_data(other, failing, 60)
    assert not raw.exists(f"jeex:proj:{{{other}}}:fills")  # the release took it
