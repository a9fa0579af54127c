"""The rate-limit candidates: jeex-cache's ``check_rate_limit`` against raw redis-py running one
EVALSHA of a GCRA script (the baseline) and the ``limits`` library's async moving-window
limiter on redis-py (a reference), on the same server, with the same pool.

Every candidate admits every call: the limit (a million per minute) is far above what a run
sends, so each call takes the admitting path, the one that writes.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any, Protocol

from redis.exceptions import RedisError

from benchmarks._candidates import raw_client
from benchmarks._measure import Call, Candidate
from benchmarks._stats import LatencySummary
from jeex_cache import CacheManager, RateLimitConfig, RateLimitPolicy, Settings

__all__ = ["RATE_LIMIT", "open_rate_limit_candidates", "rate_limit_targets"]

RATE_LIMIT = "check_rate_limit"
LIMIT, WINDOW_SECONDS = 1_000_000, 60
CONFIG = RateLimitConfig(LIMIT, WINDOW_SECONDS)
POLICY = RateLimitPolicy.per(minute=LIMIT, hour=LIMIT * 5, day=LIMIT * 10)
_RAW_KEY = "bench:{rl}:gcra"

# Generic cell rate algorithm: one number per key, the theoretical arrival time (ms) of the
# next request; a request is admitted unless it comes more than `tolerance` before it.
GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local emission, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if now < tat - tolerance then
  return {0, math.ceil(tat - tolerance - now)}
end
tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now))
return {1, 0}
"""


class _Row(Protocol):
    """What the targets read of ``benchmarks.run.Row``."""

    @property
    def operation(self) -> str: ...
    @property
    def implementation(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def latency(self) -> LatencySummary: ...
    @property
    def loaded(self) -> LatencySummary: ...
    @property
    def p50_ratio(self) -> float: ...
    @property
    def throughput_ratio(self) -> float: ...
    @property
    def failures(self) -> int: ...


async def _ours(stack: AsyncExitStack, settings: Settings) -> list[Candidate]:
    manager = await stack.enter_async_context(CacheManager(settings))
    if manager.backend_name != "redis":
        raise RuntimeError(f"jeex-cache picked the {manager.backend_name} backend, not redis")
    check = manager.check_rate_limit

    async def one_window() -> bool:
        return (await check("bench-user", "user", CONFIG)).error is None  # error: a fallback

    async def three_windows() -> bool:
        return (await check("bench-policy", "user", POLICY)).error is None

    return [
        Candidate(RATE_LIMIT, "jeex-cache", "ours", one_window),
        Candidate(RATE_LIMIT, "jeex-cache, minute+hour+day policy", "reference", three_windows),
    ]


def _evalsha(client: Any, sha: str, keys: Sequence[str], args: Sequence[Any]) -> Call:
    async def call() -> bool:
        try:
            reply = await client.evalsha(sha, len(keys), *keys, *args)
        except (RedisError, OSError):
            return False
        return bool(reply[0] == 1)

    return call


async def _raw(
    stack: AsyncExitStack, url: str, settings: Settings, concurrency: int, diagnostics: bool
) -> list[Candidate]:
    client = raw_client(url, settings, concurrency, socket_timeout=False)
    stack.push_async_callback(client.aclose)
    stack.push_async_callback(client.delete, _RAW_KEY, "bench:{rl}:log")
    gcra: str = await client.script_load(GCRA)
    emission = WINDOW_SECONDS * 1000 / LIMIT
    args = (emission, emission * (LIMIT - 1))
    candidates = [
        Candidate(RATE_LIMIT, "redis-py EVALSHA(GCRA)", "baseline",
                  _evalsha(client, gcra, (_RAW_KEY,), args)),
    ]  # fmt: skip
    if diagnostics:
        package = importlib.resources.files("jeex_cache.rate_limit")
        source = package.joinpath("lua/rate_limit_hit.lua").read_text()
        ours: str = await client.script_load(source)
        candidates.append(
            Candidate(RATE_LIMIT, "redis-py EVALSHA(rate_limit_hit.lua)", "reference",
                      _evalsha(client, ours, ("bench:{rl}:log",), (LIMIT, 60_000)))
        )  # fmt: skip
    return candidates


async def _limits(stack: AsyncExitStack, url: str, settings: Settings) -> list[Candidate]:
    from limits import RateLimitItemPerMinute
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    storage = RedisStorage(
        "async+" + url,
        implementation="redispy",
        max_connections=settings.redis_max_connections,
        key_prefix="bench-limits",
    )
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(LIMIT)
    stack.push_async_callback(storage.reset)

    async def hit() -> bool:
        try:
            return bool(await limiter.hit(item, "bench-user"))
        except (RedisError, OSError):
            return False

    return [Candidate(RATE_LIMIT, "limits moving window (redis-py)", "reference", hit)]


async def open_rate_limit_candidates(
    stack: AsyncExitStack, url: str, settings: Settings, concurrency: int, *, diagnostics: bool
) -> tuple[list[Candidate], list[str]]:
    """Connect the rate-limit candidates (closed with ``stack``); return them and notes."""
    notes: list[str] = []
    candidates = await _ours(stack, settings)
    candidates += await _raw(stack, url, settings, concurrency, diagnostics)
    try:
        candidates += await _limits(stack, url, settings)
    except ImportError as exc:
        notes.append(f"'limits' row skipped ({exc}): uv pip install -r benchmarks/requirements.txt")
    for candidate in candidates:
        if not await candidate.call():
            raise RuntimeError(f"{candidate.key} failed before the benchmark started")
    return candidates, notes


def rate_limit_targets(rows: Sequence[_Row], concurrency: int) -> list[tuple[str, str, bool, bool]]:
    """(description, measured, passed, informational) of each rate-limit target."""
    by_name = {(r.implementation, r.role): r for r in rows if r.operation == RATE_LIMIT}
    ours, raw = by_name["jeex-cache", "ours"], by_name["redis-py EVALSHA(GCRA)", "baseline"]
    peer = by_name.get(("limits moving window (redis-py)", "reference"))
    c = concurrency
    targets = [
        ("check_rate_limit: no call failed (no fail-open answer)",
         f"{ours.failures} failed; raw: {raw.failures}", ours.failures == 0, False),
        ("check_rate_limit p50 <= 1.25x raw EVALSHA(GCRA)",
         f"{ours.p50_ratio:.2f}x", ours.p50_ratio <= 1.25, False),
        (f"check_rate_limit throughput @{c} >= 3x raw EVALSHA(GCRA)",
         f"{ours.throughput_ratio:.2f}x", ours.throughput_ratio >= 3, False),
        (f"check_rate_limit p99 @{c} <= raw's",
         f"{ours.loaded.p99_us:.0f} µs; raw {raw.loaded.p99_us:.0f} µs",
         ours.loaded.p99_us <= raw.loaded.p99_us, False),
        ("spec: rate-limit checks p99 < 2 ms (concurrency 1)",
         f"{ours.latency.p99_us / 1000:.3f} ms", ours.latency.p99_us < 2_000, False),
    ]  # fmt: skip
    if peer is not None:
        targets.append((
            "limits moving window for comparison: p50 ratio, throughput ratio vs raw",
            f"{peer.p50_ratio:.2f}x, {peer.throughput_ratio:.2f}x", True, True,
        ))  # fmt: skip
    return targets
