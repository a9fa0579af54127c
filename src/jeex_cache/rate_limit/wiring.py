"""How rate limits are wired: their repository on each backend, their service over it."""

from __future__ import annotations

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.rate_limit.redis import RedisRateLimitRepository
from jeex_cache.rate_limit.repository import RateLimitRepository
from jeex_cache.rate_limit.service import RateLimitingService

__all__ = ["RATE_LIMIT"]


def _memory(backend: Backend) -> RateLimitRepository:
    return MemoryRateLimitRepository(backend.clock, backend.budget)


def _redis(backend: Backend) -> RateLimitRepository:
    assert backend.executor is not None
    return RedisRateLimitRepository(backend.executor)


def _service(
    repository: RateLimitRepository, backend: Backend, runtime: OperationRuntime
) -> RateLimitingService:
    settings = backend.settings
    return RateLimitingService(
        repository, settings.rate_limit_default, ipv6_prefix=settings.rate_limit_ipv6_prefix
    )


RATE_LIMIT = Capability("rate_limit", _memory, _redis, _service)
