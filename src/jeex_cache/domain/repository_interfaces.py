"""The six repository contracts of the spec, as ``typing.Protocol``s of domain operations.

Backends (``jeex_cache.infrastructure.memory`` and ``.redis``) implement them; every method
that touches storage raises ``BackendError`` when the backend fails, never a driver error.
``ProjectCacheRepository``, ``UserSessionRepository`` and ``CacheHealthRepository`` are
implemented today; the other three describe the operations their issues will implement and
may still gain methods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar
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
from jeex_cache.domain.value_objects import TTL, CacheTag
from jeex_cache.progress.model import Change, ProgressEvent, ProgressResult
from jeex_cache.progress.stream import Subscription
from jeex_cache.rate_limit.policy import RateLimitPolicy

T = TypeVar("T")

__all__ = [
    "CacheHealthRepository",
    "ProgressRepository",
    "ProjectCacheRepository",
    "RateLimitRepository",
    "TaskQueueRepository",
    "TaskWaiter",
    "UserSessionRepository",
    "user_data_size",
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

    async def invalidate_tag_in(self, tag: CacheTag, project_ids: Sequence[UUID]) -> int:
        """Remove the entries tagged ``tag`` in each of ``project_ids``; return the count."""
        ...

    async def list_names(self, project_id: UUID) -> list[str | None]:
        """Names of the project's live entries (None stands for the main document)."""
        ...

    async def cleanup_expired(self) -> int:
        """Release what expired entries still hold; return how many items were removed."""
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
    """Session records named by ``digest`` (SHA-256 hex of the session ID), indexed per user.

    The raw session ID never reaches a repository. A session past its idle expiry or its
    absolute lifetime is absent to every method. User data travels as encoded JSON per
    top-level key, so updates of different keys, grants and activity never overwrite each
    other. Times come from the store's clock (Redis ``TIME``, the memory backend's ``Clock``).
    """

    async def create(
        self,
        digest: str,
        user_id: UUID,
        data: Mapping[str, bytes],
        projects: frozenset[UUID],
        idle_ttl: TTL,
        absolute_ttl: TTL,
        max_per_user: int,
    ) -> tuple[UserSession, list[str]] | None:
        """Store a new session; evict the user's oldest live sessions beyond ``max_per_user``.

        Returns the session (``session_id`` None) and the evicted digests, or None if
        ``digest`` is already taken (nothing is overwritten).
        """
        ...

    async def touch(self, digest: str, extend_to: TTL | None = None) -> UserSession | None:
        """Read the session and, in the same atomic step, record the activity and slide its
        idle expiry (to at least ``extend_to`` from now if given), never past the absolute cap.
        """
        ...

    async def touch_for_project(self, digest: str, project_id: UUID) -> tuple[UUID, bool] | None:
        """Like ``touch``, but answer only the user ID and whether ``project_id`` is granted."""
        ...

    async def set_project_access(
        self, digest: str, project_id: UUID, allowed: bool
    ) -> tuple[UUID, bool] | None:
        """Grant or revoke one project; the user ID and whether anything changed, or None."""
        ...

    async def update_data(self, digest: str, data: Mapping[str, bytes], max_bytes: int) -> bool:
        """Set the given user-data keys; False if the session is gone.

        Raises ``PayloadTooLargeError`` (nothing written) if the user data would exceed
        ``max_bytes`` as counted by ``user_data_size``.
        """
        ...

    async def delete(self, digest: str) -> UUID | None:
        """Remove the session at once; its user ID, or None if there was none."""
        ...

    async def rename(self, digest: str, new_digest: str) -> UserSession | None:
        """Move the session to ``new_digest``: the old name is dead at once; same data,
        grants, creation time and absolute cap. None if the session was gone."""
        ...

    async def list_for_user(self, user_id: UUID) -> list[UserSession]:
        """The user's live sessions, oldest first, without touching them."""
        ...

    async def delete_for_user(self, user_id: UUID) -> int:
        """Remove every session of the user; return how many were live."""
        ...


def user_data_size(data: Mapping[str, bytes]) -> int:
    """How user data counts against ``CACHE_SESSION_MAX_DATA_BYTES``: per key, the key's
    UTF-8 bytes plus two, plus its encoded value (what the Redis record holds)."""
    return sum(len(key.encode()) + 2 + len(value) for key, value in data.items())


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
    """Progress records and their capped, append-only event logs.

    Every accepted start or change writes the record, appends one event and pushes it to
    the open subscriptions, atomically; record and log expire ``ttl`` after the last write.
    The rules are ``jeex_cache.domain.progress.decide``. Identifiers arrive validated.
    """

    async def start(
        self,
        correlation_id: str,
        total_steps: int,
        message: str,
        ttl: TTL,
        restart: bool,
        project_id: UUID | None,
    ) -> ProgressResult:
        """Begin tracking at step 0 (EXISTS if tracked, unless ``restart``: a fresh log).

        The owner is ``project_id``; when None, the one already recorded (by a restarted
        record or by ``assign``) is kept.
        """
        ...

    async def assign(self, correlation_id: str, project_id: UUID, ttl: TTL) -> bool:
        """Record the owner of an operation that has none yet, started or not (False if it
        has one). An owner recorded before the start lives ``ttl``, and the start keeps it."""
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
