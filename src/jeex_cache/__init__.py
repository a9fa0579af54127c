"""jeex-cache: per-project application state (cache, sessions, rate limits, progress, tasks)
for multi-tenant asyncio backends, on Redis or in process memory."""

from __future__ import annotations

from jeex_cache.clock import Clock, ManualClock, SystemClock
from jeex_cache.config import Settings
from jeex_cache.domain.entities import ProjectCache, Task, TaskStatus, WriteOutcome, WriteResult
from jeex_cache.domain.tasks import RetryPolicy
from jeex_cache.domain.value_objects import (
    TTL,
    CacheKey,
    CacheTag,
    RateLimitConfig,
    RateLimitWindow,
)
from jeex_cache.errors import (
    BackendError,
    ConfigurationError,
    InvalidIdentifierError,
    InvalidInputError,
    InvalidTTLError,
    JeexCacheError,
    NotInitializedError,
    PayloadTooLargeError,
    SerializationError,
)
from jeex_cache.services.cache_manager import CacheManager, cache_manager
from jeex_cache.services.project_view import ProjectCacheView
from jeex_cache.worker import TaskContext, Worker

__all__ = [
    "TTL",
    "BackendError",
    "CacheKey",
    "CacheManager",
    "CacheTag",
    "Clock",
    "ConfigurationError",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidTTLError",
    "JeexCacheError",
    "ManualClock",
    "NotInitializedError",
    "PayloadTooLargeError",
    "ProjectCache",
    "ProjectCacheView",
    "RateLimitConfig",
    "RateLimitWindow",
    "RetryPolicy",
    "SerializationError",
    "Settings",
    "SystemClock",
    "Task",
    "TaskContext",
    "TaskStatus",
    "WriteOutcome",
    "Worker",
    "WriteResult",
    "cache_manager",
]

__version__ = "0.1.0"
