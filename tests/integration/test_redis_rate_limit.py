"""Redis-only rate-limit properties: atomicity under concurrency (guarantee 3), one round trip
for any policy (4), bounded memory and expiry (5), the server's clock (7)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis

from jeex_cache import CacheManager, ManualClock, RateLimitConfig, RateLimitPolicy, Settings
from tests.integration.conftest import RoundTrips


async def managers(url: str, count: int, **clocks: Any) -> list[CacheManager]:
    # A generous wait for a pooled connection: a busy test machine must not turn a queued
    # check into a fail-open answer.
    settings = Settings(redis_url=url, redis_pool_timeout=10, redis_socket_timeout=10)
    opened = [CacheManager(settings, **clocks) for _ in range(count)]
    for manager in opened:
        await manager.initialize()
    return opened


@pytest.mark.parametrize(
    "limits",
    [RateLimitConfig(100, 60, burst_allowed=5), RateLimitPolicy.per(minute=105, hour=200)],
    ids=["one window", "two windows"],
)
async def test_500_concurrent_checks_admit_exactly_the_limit(
    redis_url: str, raw: redis.Redis, limits: RateLimitConfig | RateLimitPolicy
) -> None:
    """Four app servers (own pools) race 500 checks of one identifier: exactly 105 pass."""
    servers = await managers(redis_url, 4)
    try:
        results = await asyncio.gather(
            *(servers[i % 4].check_rate_limit("hot", "user", limits) for i in range(500))
        )
    finally:
        for server in servers:
            await server.close()
    assert not any("error" in result for result in results)
    assert sum(result.allowed for result in results) == 105
    assert sorted(r.remaining for r in results if r.allowed) == list(range(105))
    for key in raw.scan_iter("jeex:rl:*"):
        assert raw.llen(key) == 105  # every window recorded each admission, and only those


async def test_any_policy_is_one_round_trip(cache: CacheManager, round_trips: RoundTrips) -> None:
    policy = RateLimitPolicy.per(minute=1, hour=100, day=1000)
    checks: list[RateLimitConfig | RateLimitPolicy | None] = [
        RateLimitConfig(5, 60),
        policy,
        policy,  # refused
        None,  # the default
    ]
    for limits in checks:
        before = round_trips.count
        await cache.check_rate_limit("rt", "user", limits)
        assert round_trips.count - before == 1


async def test_key_layout_memory_and_expiry(cache: CacheManager, raw: redis.Redis) -> None:
    policy = RateLimitPolicy.per(minute=10, hour=1000, name="api")
    for _ in range(50):
        await cache.check_rate_limit("2001:db8:aa:bb::7", "ip", policy)
    prefix = "jeex:rl:{ip.2001-db8-aa-bb--_64}:"
    keys = sorted(key.decode() for key in raw.scan_iter("*"))
    assert keys == [prefix + "api.hour", prefix + "api.minute"]
    # A window's log holds at most its limit of admissions (the refusals left no trace) ...
    assert (raw.llen(prefix + "api.minute"), raw.llen(prefix + "api.hour")) == (10, 10)
    # ... about ten bytes each, and expires one window after the newest admission.
    usage = raw.memory_usage(prefix + "api.minute", samples=0)
    assert usage is not None
    assert usage < 200 + 16 * 10
    assert 50_000 < raw.pttl(prefix + "api.minute") <= 60_000  # real time passes
    assert 3_590_000 < raw.pttl(prefix + "api.hour") <= 3_600_000


async def test_app_servers_with_skewed_clocks_share_one_limit(
    redis_url: str, raw: redis.Redis
) -> None:
    """Window arithmetic reads the Redis server's clock: the app servers' clocks, an hour
    apart, play no part."""
    now = time.time()
    servers = [
        *await managers(redis_url, 1, clock=ManualClock(now - 3600)),
        *await managers(redis_url, 1, clock=ManualClock(now + 3600)),
    ]
    try:
        config = RateLimitConfig(10, 60)
        results = [await servers[i % 2].check_rate_limit("skew", "user", config) for i in range(30)]
        seconds, micros = raw.time()
    finally:
        for server in servers:
            await server.close()
    assert sum(r.allowed for r in results) == 10
    stamps = [int(t) for t in raw.lrange("jeex:rl:{user.skew}:minute", 0, -1)]
    server_ms = seconds * 1000 + micros // 1000
    assert all(server_ms - 5_000 < stamp <= server_ms for stamp in stamps)


async def test_scripts_reload_after_the_server_forgets_them(
    cache: CacheManager, raw: redis.Redis
) -> None:
    raw.script_flush()
    result = await cache.check_rate_limit("reload", "user", RateLimitConfig(1, 60))
    assert result.allowed
    assert "error" not in result


async def test_a_foreign_value_under_the_key_fails_open(
    cache: CacheManager, raw: redis.Redis
) -> None:
    raw.set("jeex:rl:{user.odd}:minute", "not a list")
    result = await cache.check_rate_limit("odd", "user", RateLimitConfig(1, 60))
    assert result.allowed
    assert "error" in result
    assert cache.failure_tracker.failures["check_rate_limit"] == 1
