"""The six repository contracts of the spec, as ``typing.Protocol``s of domain operations.

Backends (``jeex_cache.infrastructure.memory`` and ``.redis``) implement them; every method
that touches storage raises ``BackendError`` when the backend fails, never a driver error.
``ProjectCacheRepository`` and ``CacheHealthRepository`` are implemented today; the other
four describe the operations their issues will implement and may still gain methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from uuid import UUID

from jeex_cache.domain.entities import (
    Progress,
    ProjectCache,
    Task,
    UserSession,
    WriteResult,
)
from jeex_cache.domain.progress import Change, ProgressEvent, ProgressResult
from jeex_cache.domain.progress_stream import Subscription
from jeex_cache.domain.value_objects import TTL, CacheTag, RateLimitConfig

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

    async def hit(
        self, scope: str, identifier: str, configs: Sequence[RateLimitConfig]
    ) -> tuple[bool, int, float]: ...


class ProgressRepository(Protocol):
    """Progress records and their capped, append-only event logs.

    Every accepted start or change writes the record, appends one event and pushes it to
    the open subscriptions, atomically; record and log expire ``ttl`` after the last write.
    The rules are ``jeex_cache.domain.progress.decide``. Identifiers arrive validated.
    """

    async def start(
        self, correlation_id: str, total_steps: int, message: str, ttl: TTL, restart: bool
    ) -> ProgressResult:
        """Begin tracking at step 0 (EXISTS if tracked, unless ``restart``: a fresh log)."""
        ...

    async def apply(self, correlation_id: str, change: Change, ttl: TTL) -> ProgressResult:
        """Apply ``change`` if ``decide`` allows it; otherwise return the refusal."""
        ...

    async def get(self, correlation_id: str) -> Progress | None:
        """The current state, or None if unknown or expired."""
        ...

    async def read(
        self, correlation_id: str, after: str | None, limit: int
    ) -> tuple[Progress | None, list[ProgressEvent]]:
        """The state and up to ``limit`` events after ``after`` (all kept if None), at once."""
        ...

    def subscribe(self, correlation_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Live events from the moment the context is entered until it is left."""
        ...


class TaskQueueRepository(Protocol):
    """Queues with at-least-once delivery and task status kept for ``TTL.task_status()``."""

    async def enqueue(self, task: Task, delay_seconds: float) -> bool: ...

    async def claim(self, queue: str, visibility_timeout: float) -> Task | None: ...

    async def acknowledge(self, task_id: str, result: Any) -> None: ...

    async def get_status(self, task_id: str) -> Task | None: ...
