"""The six repository contracts of the spec, as ``typing.Protocol``s of domain operations.

Backends (``jeex_cache.infrastructure.memory`` and ``.redis``) implement them; every method
that touches storage raises ``BackendError`` when the backend fails, never a driver error.
``ProjectCacheRepository`` and ``CacheHealthRepository`` are implemented today; the other
four describe the operations their issues will implement and may still gain methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from jeex_cache.domain.entities import (
    Delivery,
    Progress,
    ProjectCache,
    Task,
    TaskClaim,
    TaskStatus,
    UserSession,
    WriteResult,
)
from jeex_cache.domain.value_objects import TTL, CacheTag, RateLimitConfig

__all__ = [
    "CacheHealthRepository",
    "ProgressRepository",
    "ProjectCacheRepository",
    "RateLimitRepository",
    "TaskQueueRepository",
    "TaskWaiter",
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
    """Progress records and their capped event logs."""

    async def start(self, progress: Progress, ttl: TTL) -> None: ...

    async def update(self, correlation_id: str, step: int, message: str, status: str) -> bool: ...

    async def get(self, correlation_id: str) -> Progress | None: ...


class TaskWaiter(Protocol):
    """One worker's wait for new tasks on one queue (on a connection of its own)."""

    async def wait(self, seconds: float) -> bool:
        """Return when a task may have arrived (True) or after ``seconds`` (False)."""
        ...

    async def interrupt(self) -> None:
        """End the current (or next) ``wait`` at once: its worker is stopping."""
        ...

    async def close(self) -> None:
        """Release the waiter's connection."""
        ...


class TaskQueueRepository(Protocol):
    """Queues with at-least-once delivery; every operation is atomic (one script on Redis).

    A delivery holds a lease (its attempt number) until it is completed, failed or released;
    one whose visibility deadline passes is given to the next ``claim`` again. Finished
    tasks' records expire after ``status_ttl``; queued and running ones never do.
    """

    async def enqueue(
        self,
        task_id: str,
        queue: str,
        name: str,
        payload: bytes,
        max_attempts: int,
        delay_ms: int,
    ) -> bool:
        """Store and queue a task in one step; False (nothing changed) if the ID exists."""
        ...

    async def get(self, task_id: str) -> Task | None:
        """The task's status record, or None if unknown or expired."""
        ...

    async def cancel(self, task_id: str, status_ttl: TTL) -> bool:
        """Cancel a task that waits to run (queued, or failed awaiting its retry)."""
        ...

    async def claim(
        self, queue: str, worker: str, visibility_ms: int, status_ttl: TTL
    ) -> TaskClaim:
        """Requeue expired deliveries, then lease the first due task, if any."""
        ...

    async def complete(self, delivery: Delivery, result: bytes, status_ttl: TTL) -> bool:
        """Record success; False if the delivery's lease was taken over."""
        ...

    async def complete_and_claim(
        self, delivery: Delivery, result: bytes, worker: str, visibility_ms: int, status_ttl: TTL
    ) -> tuple[bool, TaskClaim]:
        """``complete``, then ``claim`` on the delivery's queue, in one atomic step."""
        ...

    async def fail(
        self, delivery: Delivery, error: str, retry_delay_ms: int, status_ttl: TTL
    ) -> TaskStatus | None:
        """Schedule a retry (FAILED) or bury the task (DEAD); None if the lease was lost."""
        ...

    async def release(self, delivery: Delivery) -> bool:
        """Put a running delivery back at the head of its queue, uncounted."""
        ...

    async def extend(self, queue: str, deliveries: Sequence[Delivery], visibility_ms: int) -> int:
        """Move the visibility deadlines of running deliveries on; return how many held."""
        ...

    async def list_dead(self, queue: str, limit: int, status_ttl: TTL) -> list[Task]:
        """The queue's dead-letter list, oldest first."""
        ...

    async def requeue_dead(self, queue: str, task_ids: Sequence[str] | None) -> int:
        """Queue dead tasks again with fresh attempts (all of them if ``task_ids`` is None)."""
        ...

    async def open_waiter(self, queue: str, max_wait: float) -> TaskWaiter:
        """A waiter woken by new tasks on ``queue``; ``wait`` blocks ``max_wait`` s at most."""
        ...
