"""Guarantee 5 on the memory backend: logs hold at most their limit and go with their window."""

from __future__ import annotations

from jeex_cache import RateLimitConfig, RateLimitPolicy
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.rate_limit.service import RateLimitingService
from tests.contract.conftest import MillisecondClock


async def test_logs_are_bounded_and_expire_with_their_window() -> None:
    clock = MillisecondClock()
    repository = MemoryRateLimitRepository(clock)
    limiter = RateLimitingService(repository, RateLimitConfig(10, 60))
    policy = RateLimitPolicy.per(minute=10, hour=20)
    for _ in range(1_000):
        await limiter.check("busy", "user", policy)
        clock.ms += 7
    assert (repository.key_count, repository.entry_count) == (2, 20)  # 10 + 10: the limits

    for n in range(100):
        await limiter.check(f"idle-{n}", "user")  # the default: 10 per minute
    assert repository.key_count == 102
    clock.ms += 60_000  # a minute after the idle ones' only admission: their logs go
    await limiter.check("next", "user")
    assert repository.key_count == 2  # busy's hour log (its minute has passed) and "next"
    clock.ms += 3_600_000
    await limiter.check("last", "user")
    assert (repository.key_count, repository.entry_count) == (1, 1)
