"""Fixtures of the rate-limit contract: the domain service over each backend, on a clock
the test moves by hand (the Redis repository's test-only clock replaces the server's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from jeex_cache import RateLimitConfig, Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.connect import create_client, create_transport
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.rate_limit.redis import RedisRateLimitRepository
from jeex_cache.rate_limit.service import RateLimitingService


@dataclass(slots=True)
class MillisecondClock:
    """A clock on whole milliseconds, so that test arithmetic is exact."""

    ms: int = 1_700_000_000_000

    def time(self) -> float:
        return self.ms / 1000


@pytest.fixture
def ms_clock() -> MillisecondClock:
    return MillisecondClock()


@pytest.fixture
async def limiter(
    backend: str, ms_clock: MillisecondClock, request: pytest.FixtureRequest
) -> AsyncIterator[RateLimitingService]:
    """``RateLimitingService`` over the backend under test, reading ``ms_clock``."""
    default = RateLimitConfig(100, 3600)
    if backend == "memory":
        yield RateLimitingService(MemoryRateLimitRepository(ms_clock), default)
        return
    settings = Settings(redis_url=request.getfixturevalue("redis_url"))
    client = create_client(settings)
    router = create_transport(settings)
    breaker = CircuitBreaker(failure_threshold=1000, reset_timeout=1.0)
    executor = RedisExecutor(client, settings.cache_namespace, breaker=breaker, router=router)
    try:
        yield RateLimitingService(RedisRateLimitRepository(executor, ms_clock), default)
    finally:
        await router.close()
        await client.aclose()
