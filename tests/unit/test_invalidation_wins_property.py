"""Invalidation wins, as a property (memory backend): random interleavings of loads (gated by
events), database updates each followed by an invalidation or a versioned write, and reads.
A read never returns a row older than the one the last completed update committed: what an
invalidation removed comes back only through a load that started after it."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from jeex_cache import CacheManager, Settings

OPS = st.lists(
    st.sampled_from(["load", "finish", "invalidate", "delete", "tag", "write", "read"]),
    max_size=40,
)


async def _settle() -> None:
    for _ in range(20):  # let the woken flights run their steps (no I/O on memory)
        await asyncio.sleep(0)


async def _scenario(ops: list[str]) -> None:
    database = {"version": 0}
    committed = 0  # the version of the last update whose invalidation has completed
    gates: list[asyncio.Event] = []
    tasks: list[asyncio.Task[Any]] = []
    async with CacheManager(Settings(redis_url=None)) as cache:
        view = cache.project(uuid4())

        async def load() -> dict[str, int]:
            row = dict(database)  # the loader reads the database, then takes its time
            gate = asyncio.Event()
            gates.append(gate)
            await gate.wait()
            return row

        for op in ops:
            if op == "load":
                tasks.append(asyncio.create_task(view.read_or_load("e", load, 300, tags=["t"])))
            elif op == "finish":
                if gates:
                    gates.pop(0).set()
            elif op == "read":
                value = await view.get("e")
                assert value is None or value["version"] >= committed, (value, committed)
            else:
                database["version"] += 1  # the commit, then the cache is told
                if op == "invalidate":
                    await view.invalidate("updated")
                elif op == "delete":
                    await view.delete("e")
                elif op == "tag":
                    await cache.invalidate_by_tag("t")
                else:
                    version = database["version"]
                    await view.set("e", dict(database), tags=["t"], version=version)
                committed = database["version"]
            await _settle()
        while gates:
            gates.pop(0).set()
            await _settle()
        await asyncio.gather(*tasks)
        value = await view.get("e")
        assert value is None or value["version"] >= committed


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_no_read_returns_what_a_completed_invalidation_removed(ops: list[str]) -> None:
    asyncio.run(_scenario(ops))
