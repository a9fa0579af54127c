"""What a task queue backend does: ``TaskQueueRepository``, ``TaskWaiter``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from jeex_cache.core.ttl import TTL
from jeex_cache.tasks.model import (
    Delivery,
    Pace,
    QueueStats,
    Settled,
    Task,
    TaskClaim,
    TaskStatus,
)

__all__ = ["TaskQueueRepository", "TaskWaiter"]


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
        project: str | None = None,
        priority: int = 0,
        cost: int = 1,
        trace: str | None = None,
    ) -> bool:
        """Store and queue a task in one step; False (nothing changed) if the ID exists.
        ``cost`` is its weight in its project's pace; ``trace`` the enqueue's trace context
        (``tasks.tracing``), which its deliveries carry.

        ``project`` is its group (None: the queue's group without a project); ``priority``
        orders the group's tasks, higher first."""
        ...

    async def get(self, task_id: str) -> Task | None:
        """The task's status record, or None if unknown or expired."""
        ...

    async def wait(self, task_id: str, seconds: float) -> Task | None:
        """The task once finished (None if unknown), woken by its end, not by polling;
        ``TimeoutError`` after ``seconds``."""
        ...

    async def cancel(self, task_id: str, status_ttl: TTL) -> bool:
        """Cancel a task that waits to run (queued, or failed awaiting its retry)."""
        ...

    async def claim(
        self, queue: str, worker: str, visibility_ms: int, status_ttl: TTL, cap: int = 0
    ) -> TaskClaim:
        """Requeue expired deliveries, then lease the next ready task, if any: the first by
        priority of the group (project) whose turn it is, skipping groups that run ``cap``
        tasks already (0: no cap)."""
        ...

    async def complete(self, delivery: Delivery, result: bytes, status_ttl: TTL) -> bool:
        """Record success; False if the delivery's lease was taken over."""
        ...

    async def complete_and_claim(
        self,
        delivery: Delivery,
        result: bytes,
        worker: str,
        visibility_ms: int,
        status_ttl: TTL,
        cap: int = 0,
    ) -> tuple[bool, TaskClaim]:
        """``complete``, then ``claim`` on the delivery's queue, in one atomic step."""
        ...

    async def fail(
        self, delivery: Delivery, error: str, retry_delay_ms: int, status_ttl: TTL
    ) -> TaskStatus | None:
        """Schedule a retry (FAILED) or bury the task (DEAD); None if the lease was lost."""
        ...

    async def settle(
        self,
        queue: str,
        completions: Sequence[tuple[Delivery, bytes]],
        worker: str,
        visibility_ms: int,
        status_ttl: TTL,
        cap: int = 0,
        count: int = 0,
    ) -> Settled:
        """Complete the ``completions`` (deliveries of ``queue`` with their results), then
        lease up to ``count`` tasks as ``claim`` does, in one step."""
        ...

    async def release(self, delivery: Delivery, pause_ms: int = 0) -> bool:
        """Put a running delivery back at the head of its queue, uncounted; with
        ``pause_ms``, its project's tasks are not claimed for that long."""
        ...

    async def set_pace(self, queue: str, group: str, pace: Pace | None) -> None:
        """Pace ``group`` (a project, ``-`` the tasks without one, ``*`` every group
        without a pace of its own) on ``queue``; None removes its pace."""
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

    async def stats(self, queue: str, sample: int) -> QueueStats:
        """The queue's depths, with up to ``sample`` running task IDs."""
        ...

    async def open_waiter(self, queue: str, max_wait: float) -> TaskWaiter:
        """A waiter woken by new tasks on ``queue``; ``wait`` blocks ``max_wait`` s at most."""
        ...
