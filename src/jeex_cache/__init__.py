"""jeex-cache: per-project application state (cache, sessions, rate limits, progress, tasks)
for multi-tenant asyncio backends, on Redis or in process memory."""

from __future__ import annotations

from jeex_cache._keys import CacheKey
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock, ManualClock, SystemClock
from jeex_cache.core.errors import (
    AccessDenied,
    BackendError,
    ConfigurationError,
    InvalidIdentifierError,
    InvalidInputError,
    InvalidProgressError,
    InvalidTTLError,
    JeexCacheError,
    LoaderFailedError,
    MemoryLimitError,
    NotInitializedError,
    PayloadTooLargeError,
    ReplicationTimeoutError,
    SerializationError,
    VersionLimitError,
)
from jeex_cache.core.identifiers import ProjectId, UserId, parse_id
from jeex_cache.core.resilience import Outcome, outcome_of
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.ttl import TTL
from jeex_cache.extras import MissingExtraError
from jeex_cache.manager import CacheManager, cache_manager
from jeex_cache.progress.model import (
    EventKind,
    Progress,
    ProgressEvent,
    ProgressOutcome,
    ProgressResult,
    ProgressStatus,
)
from jeex_cache.project_cache.model import (
    CacheTag,
    LoadResult,
    LoadSource,
    ProjectCache,
    ReadOutcome,
    ReadResult,
    WriteOutcome,
    WriteResult,
)
from jeex_cache.project_cache.service import TagLike
from jeex_cache.project_cache.session_view import SessionCacheView
from jeex_cache.project_cache.view import ProjectCacheView, SessionProjectView
from jeex_cache.project_cache.warm import WarmSummary
from jeex_cache.rate_limit.model import RateLimit, RateLimitConfig, RateLimitWindow
from jeex_cache.rate_limit.policy import RateLimitPolicy, RateLimitResult
from jeex_cache.rate_limit.service import LimitsLike
from jeex_cache.sessions.model import UserSession
from jeex_cache.tasks.model import QueueStats, Task, TaskStatus
from jeex_cache.tasks.schedule import Schedule
from jeex_cache.tasks.typed import TaskRegistry, TypedTask
from jeex_cache.tasks.worker import (
    RateLimited,
    TaskContext,
    Worker,
    WorkerContext,
    WorkerSettings,
)

__all__ = [
    "TTL",
    "AccessDenied",
    "BackendError",
    "CacheKey",
    "CacheManager",
    "CacheTag",
    "Clock",
    "ConfigurationError",
    "EventKind",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidProgressError",
    "InvalidTTLError",
    "JeexCacheError",
    "LimitsLike",
    "LoadResult",
    "LoadSource",
    "LoaderFailedError",
    "MemoryLimitError",
    "ManualClock",
    "MissingExtraError",
    "NotInitializedError",
    "Outcome",
    "PayloadTooLargeError",
    "ReplicationTimeoutError",
    "Progress",
    "ProgressEvent",
    "ProgressOutcome",
    "ProgressResult",
    "ProgressStatus",
    "ProjectCache",
    "ProjectCacheView",
    "ProjectId",
    "RateLimit",
    "RateLimitConfig",
    "RateLimitPolicy",
    "RateLimitResult",
    "RateLimitWindow",
    "ReadOutcome",
    "ReadResult",
    "RetryPolicy",
    "Schedule",
    "SerializationError",
    "SessionCacheView",
    "SessionProjectView",
    "Settings",
    "SystemClock",
    "UserId",
    "UserSession",
    "VersionLimitError",
    "QueueStats",
    "WarmSummary",
    "Task",
    "TaskContext",
    "TagLike",
    "TaskStatus",
    "WriteOutcome",
    "Worker",
    "WorkerContext",
    "WorkerSettings",
    "RateLimited",
    "TaskRegistry",
    "TypedTask",
    "WriteResult",
    "cache_manager",
    "outcome_of",
    "parse_id",
]

__version__ = "0.1.0"
