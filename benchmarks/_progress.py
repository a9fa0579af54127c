"""Progress updates: jeex-cache's ``increment_progress`` beside raw redis-py on the same server.

The baseline does in one pipelined round trip what the update script writes (step and message
in the record, an XADD to a capped stream, both expiries, a PUBLISH for listeners), without
the checks the script makes (unknown, finished, past the total). References: the script
called straight from redis-py, and a lone XADD, the least a progress event can cost.
"""

from __future__ import annotations

import importlib.resources
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from benchmarks._candidates import raw_client
from benchmarks._measure import Call, Candidate
from jeex_cache import CacheKey, CacheManager, Settings
from jeex_cache.progress.rules import MAX_STEPS

__all__ = ["PROGRESS", "open_progress_candidates", "progress_targets"]

PROGRESS = "increment_progress"
CORRELATION_ID = uuid.UUID("9c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5")
MESSAGE = "Generating architecture document"
_RAW = "bench:{rawprogress}:"
_RAW_KEYS = (_RAW + "record", _RAW + "events", _RAW + "script", _RAW + "script:events")


async def _ours(stack: AsyncExitStack, settings: Settings) -> Candidate:
    manager = await stack.enter_async_context(CacheManager(settings))
    # A total no benchmark reaches: every increment is a real, accepted update.
    started = await manager.start_progress_tracking(CORRELATION_ID, MAX_STEPS, restart=True)
    if not started:
        raise RuntimeError(f"jeex-cache could not start progress tracking: {started.outcome}")

    async def increment() -> bool:
        return bool(await manager.increment_progress(CORRELATION_ID, MESSAGE))

    return Candidate(PROGRESS, "jeex-cache", "ours", increment)


def _pipeline(client: aioredis.Redis, settings: Settings) -> Call:
    record, events = _RAW_KEYS[:2]
    ttl_ms = settings.progress_ttl.milliseconds
    cap = settings.cache_progress_max_events

    async def update() -> bool:
        now = str(int(time.time() * 1000))
        try:
            pipe = client.pipeline(transaction=False)
            pipe.hincrby(record, "s", 1)
            pipe.hset(record, mapping={"m": MESSAGE, "t": now})
            pipe.xadd(events, {"k": "progress", "m": MESSAGE, "t": now}, maxlen=cap)
            pipe.pexpire(record, ttl_ms)
            pipe.pexpire(events, ttl_ms)
            pipe.publish(events, orjson.dumps(["progress", MESSAGE, now]))
            await pipe.execute()
        except (RedisError, OSError):
            return False
        return True

    return update


def _xadd(client: aioredis.Redis, settings: Settings) -> Call:
    events, cap = _RAW_KEYS[1], settings.cache_progress_max_events

    async def append() -> bool:
        try:
            return bool(await client.xadd(events, {"k": "progress", "m": MESSAGE}, maxlen=cap))
        except (RedisError, OSError):
            return False

    return append


async def _script(client: aioredis.Redis, settings: Settings) -> Call:
    package = importlib.resources.files("jeex_cache.progress")
    sha: str = await client.script_load(package.joinpath("lua/progress_update.lua").read_text())
    start: str = await client.script_load(package.joinpath("lua/progress_start.lua").read_text())
    keys = _RAW_KEYS[2:]
    ttl_ms, cap = settings.progress_ttl.milliseconds, settings.cache_progress_max_events
    await client.evalsha(start, 2, *keys, MAX_STEPS, "", ttl_ms, cap, "1")

    async def update() -> bool:
        try:
            row = await client.evalsha(sha, 2, *keys, "inc", "", MESSAGE, "", ttl_ms, cap)
        except (RedisError, OSError):
            return False
        return bool(row[0] == b"applied")

    return update


async def open_progress_candidates(
    stack: AsyncExitStack, url: str, settings: Settings, concurrency: int, *, diagnostics: bool
) -> list[Candidate]:
    """Our progress update, its raw baseline, and (with ``diagnostics``) the references."""
    client = raw_client(url, settings, concurrency, socket_timeout=False)
    stack.push_async_callback(client.aclose)
    ours_keys = [
        f"{settings.cache_namespace}:{key}"
        for key in (CacheKey.progress(CORRELATION_ID), CacheKey.progress_events(CORRELATION_ID))
    ]
    stack.push_async_callback(client.delete, *_RAW_KEYS, *ours_keys)
    candidates = [
        await _ours(stack, settings),
        Candidate(PROGRESS, "redis-py pipeline: HINCRBY HSET XADD 2xPEXPIRE PUBLISH", "baseline",
                  _pipeline(client, settings)),
    ]  # fmt: skip
    if diagnostics:
        candidates += [
            Candidate(PROGRESS, "redis-py EVALSHA(progress_update.lua)", "reference",
                      await _script(client, settings)),
            Candidate(PROGRESS, "redis-py XADD MAXLEN alone", "reference", _xadd(client, settings)),
        ]  # fmt: skip
    for candidate in candidates:
        if not await candidate.call():
            raise RuntimeError(f"{candidate.key} failed before the benchmark started")
    return candidates


TargetLine = tuple[str, str, bool, bool]  # description, measured, passed, informational


def progress_targets(rows: Sequence[Any], concurrency: int) -> list[TargetLine]:
    """The spec's progress figure (p95 < 3 ms at concurrency 1) and ours against raw.

    ``rows`` are ``benchmarks.run.Row``s (not imported: run.py imports this module).
    """
    by_role = {r.role: r for r in rows if r.operation == PROGRESS and r.role != "reference"}
    ours, raw = by_role["ours"], by_role["baseline"]
    c = concurrency
    return [
        ("increment_progress: no call failed", f"{ours.failures} failed", ours.failures == 0,
         False),
        ("spec: progress updates p95 < 3 ms (concurrency 1)",
         f"{ours.latency.p95_us / 1000:.3f} ms", ours.latency.p95_us < 3_000, False),
        ("increment_progress p50 <= 0.8x the raw pipeline", f"{ours.p50_ratio:.2f}x",
         ours.p50_ratio <= 0.8, False),
        (f"increment_progress throughput @{c} >= 4x the raw pipeline",
         f"{ours.throughput_ratio:.2f}x", ours.throughput_ratio >= 4, False),
        (f"progress updates p95 < 3 ms @{c} callers",
         f"{ours.loaded.p95_us / 1000:.3f} ms; raw {raw.loaded.p95_us / 1000:.3f} ms",
         ours.loaded.p95_us < 3_000, True),
    ]  # fmt: skip
