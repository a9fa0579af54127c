"""The six repository contracts of the spec, as ``typing.Protocol``s of domain operations.

Backends (``jeex_cache.infrastructure.memory`` and ``.redis``) implement them; every method
that touches storage raises ``BackendError`` when the backend fails, never a driver error.
``ProjectCacheRepository`` and ``CacheHealthRepository`` are implemented today; the other
four describe the operations their issues will implement and may still gain methods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

from jeex_cache.domain.entities import (
    Progress,
    ProjectCache,
    Task,
    UserSession,
    WriteResult,
)
from jeex_cache.domain.rate_limit_policy import RateLimitPolicy
from jeex_cache.domain.value_objects import TTL, CacheTag

T = TypeVar("T")

__all__ = [
    "CacheHealthRepository",
    "ProgressRepository",
    "ProjectCacheRepository",
    "RateLimitRepository",
    "TaskQueueRepository",
    "UserSessionRepository",
]


class ProjectCacheRepository(Protocol):
    """Versioned, tagged, expiring entries confined to one project each.

    ``name`` None addresses the project's main document, a string an entry of the
    project-scoped view. Payloads are encoded JSON (``bytes``).
    """

    async def get_and_touch(self, project_id: UUID, name: str | None) -> bytes | None:
        """Return the payload and count the access, in one atomic step; None on a miss."""
        ...

    async def get_entry(self, project_id: UUID, name: str | None) -> ProjectCache | None:
        """Return the whole entry (data, version, statistics) and count the access."""
        ...

    async def set_if_newer(
        self,
        project_id: UUID,
        name: str | None,
        payload: bytes,
        ttl: TTL,
        tags: frozenset[CacheTag],
        version: int | None,
    ) -> WriteResult:
        """Store unless the stored version is newer than ``version``; update tag indexes.

        ``version`` None stores unconditionally as the stored version plus one.
        """
        ...

    async def delete(self, project_id: UUID, name: str | None) -> bool:
        """Remove one entry; True if it existed."""
        ...

    async def invalidate_project(self, project_id: UUID) -> int:
        """Remove every entry of the project; return how many were removed."""
        ...

    async def invalidate_tag(self, tag: CacheTag, project_id: UUID | None = None) -> int:
        """Remove the entries tagged ``tag`` in one project, or in every project if None."""
        ...

    async def list_names(self, project_id: UUID) -> list[str | None]:
        """Names of the project's live entries (None stands for the main document)."""
        ...


class CacheHealthRepository(Protocol):
    """What health monitoring asks of a backend."""

    async def ping(self) -> float:
        """Round-trip time of a no-op, in seconds."""
        ...

    async def memory_info(self) -> dict[str, Any]:
        """``used`` and ``max`` in bytes (``max`` 0 when unbounded)."""
        ...


class UserSessionRepository(Protocol):
    """Session records keyed by a hash of the session ID, indexed per user."""

    async def create(self, session: UserSession, ttl: TTL, max_per_user: int) -> None: ...

    async def get_and_touch(self, session_id: str, ttl: TTL) -> UserSession | None: ...

    async def set_project_access(
        self, session_id: str, project_id: UUID, allowed: bool
    ) -> bool: ...

    async def delete(self, session_id: str) -> bool: ...

    async def list_for_user(self, user_id: UUID) -> Sequence[UserSession]: ...


class RateLimitRepository(Protocol):
    """Atomic sliding-window admission for one identifier over one or more windows."""

    def hit(
        self, prefix: str, policy: RateLimitPolicy, answer: Callable[[list[int]], T]
    ) -> Awaitable[T]:
        """Admit one request if every window of ``policy`` has room, in one atomic step.

        ``prefix`` is the identifier's key prefix (``CacheKey.rate_limit_prefix``); window
        ``i``'s log lives under ``prefix + policy.names[i]``. The outcome, ``[admitted (1 or
        0), retry_after_ms, count_1, reset_ms_1, count_2, reset_ms_2, ...]`` (per window: the
        admissions now in it and the time until the oldest that matters leaves it; see
        ``domain/rate_limiting.py``), is handed to ``answer``, whose result is returned.
        """
        ...


class ProgressRepository(Protocol):
    """Progress records and their capped event logs."""

    async def start(self, progress: Progress, ttl: TTL) -> None: ...

    async def update(self, correlation_id: str, step: int, message: str, status: str) -> bool: ...

    async def get(self, correlation_id: str) -> Progress | None: ...


class TaskQueueRepository(Protocol):
    """Queues with at-least-once delivery and task status kept for ``TTL.task_status()``."""

    async def enqueue(self, task: Task, delay_seconds: float) -> bool: ...

    async def claim(self, queue: str, visibility_timeout: float) -> Task | None: ...

    async def acknowledge(self, task_id: str, result: Any) -> None: ...

    async def get_status(self, task_id: str) -> Task | None: ...
