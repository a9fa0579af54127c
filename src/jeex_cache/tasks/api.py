"""The background task part of ``CacheManager``: enqueue, inspect, cancel, dead letters, and
the claims and settlements of workers (``jeex_cache.tasks.worker.Worker``).

Every call is one round trip on Redis (an enqueue with a ``project_id`` two). Unlike the
cache, these operations raise ``BackendError`` when the backend fails: a caller must know
whether a task was queued or cancelled, and a worker backs off and tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from jeex_cache.core.errors import BackendError
from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id
from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks.failures import TASK_CONTROL, TASK_ENQUEUE, TASK_PROGRESS_OWNER, TASK_WORKER
from jeex_cache.tasks.model import Delivery, QueueStats, Settled, Task, TaskClaim, TaskStatus
from jeex_cache.tasks.repository import TaskWaiter
from jeex_cache.tasks.service import DelayLike, TaskQueueService

__all__ = ["ProgressOwners", "TaskQueueAPI", "TaskQueueSetup"]

# Span attributes (see ``guarded``); payloads never.
_ENQUEUE = {"queue": "queue", "task_name": "name", "task_id": "task_id", "project_id": "project_id"}
_TASK = {"task_id": "task_id", "project_id": "project_id"}
_QUEUE = {"queue": "queue"}


class ProgressOwners(Protocol):
    """What a task needs of the progress capability (``bootstrap.py`` passes the progress
    service): a capability imports no other."""

    async def assign(self, correlation_id: UUID | str, project_id: ProjectId, ttl: TTL) -> bool:
        """Make ``project_id`` the owner of the operation ``correlation_id``."""
        ...


@dataclass(frozen=True, slots=True)
class TaskQueueSetup:
    """What the task API needs beside its service, given by ``bootstrap.py``."""

    progress_owners: ProgressOwners
    progress_owner_seconds: float  # how long an owner record outlives the task's delay
    max_running: int  # TASK_MAX_RUNNING_PER_PROJECT: the default of ``max_running``


class TaskQueueAPI:
    """Background tasks with at-least-once delivery, retries and a dead-letter list."""

    runtime: OperationRuntime
    _tasks: TaskQueueService  # set by ``CacheManager.initialize()``
    _task_setup: TaskQueueSetup  # likewise

    @guarded(TASK_ENQUEUE, attributes=_ENQUEUE)
    async def enqueue_task(
        self,
        queue: str,
        name: str,
        payload: Any = None,
        *,
        task_id: str | None = None,
        delay: DelayLike | None = None,
        max_attempts: int = 3,
        project_id: ProjectId | None = None,
        priority: int = 0,
        cost: int = 1,
    ) -> str:
        """Queue task ``name`` with a JSON ``payload`` on ``queue``; return the task ID.

        The status record and the queue entry are written in one atomic step. A ``task_id``
        already in use (while its status is kept) queues nothing and returns that ID, so a
        retried enqueue is harmless. ``delay`` (seconds or a ``timedelta``) postpones the first
        run; a failing task is retried with backoff until ``max_attempts`` deliveries, then
        goes to the queue's dead-letter list. Raises ``BackendError`` if it was not stored.

        Workers serve the projects of a queue in turn (tasks without ``project_id`` form one
        group of their own), and a project's tasks by ``priority``, higher first (every 8th
        claim of a project takes its oldest task, so none starves). The task's progress
        (``ctx.start_progress``) belongs to ``project_id``, if given (one more round trip,
        after the task is queued). Generated IDs name their queue (``<queue>=<hex>``); a
        ``task_id`` of your own costs a pointer write first.

        With ``project_id`` the ID is in the project's scope: the ID returned is
        ``@<project>@<id>``, so two projects using one ``task_id`` get two tasks, and
        the same project gets its one task back. Status, wait, cancel and the task's
        progress (``GET /progress/{id}``) take that ID, or yours with ``project_id=``.

        ``cost`` (default 1) is the task's weight in its project's pace
        (``set_project_rate``): a task of cost 3 counts as three.
        """
        owner = None if project_id is None else parse_id(project_id)
        task_id, created = await self._tasks.enqueue(
            queue, name, payload, task_id=task_id, delay=delay, max_attempts=max_attempts,
            project=None if owner is None else str(owner), priority=priority, cost=cost,
            tracer=self.runtime.tracer,
        )  # fmt: skip
        if owner is not None and created:
            await self._own_progress(task_id, owner, delay)
        return task_id

    async def _own_progress(
        self, task_id: str, owner: CanonicalId, delay: DelayLike | None
    ) -> None:
        """Record the owner of the task's progress for its worker's start (the owner waits
        its delay plus the longer of the progress and task status TTLs). A failure leaves
        the progress ownerless, which HTTP never shows: logged, and the task stays queued."""
        setup = self._task_setup
        wait = setup.progress_owner_seconds
        if delay is not None:
            wait += delay.total_seconds() if isinstance(delay, timedelta) else delay
        ttl = TTL(min(int(wait * 1000), TTL.MAX_MILLISECONDS))
        try:
            await setup.progress_owners.assign(task_id, owner, ttl)
        except BackendError as exc:
            row = TASK_PROGRESS_OWNER
            self.runtime.tracker.failed("enqueue_task.progress_owner", row.name, row.why, exc)

    @guarded(TASK_CONTROL, attributes=_TASK)
    async def get_task_status(
        self, task_id: str, *, project_id: ProjectId | None = None
    ) -> Task | None:
        """The task's status, attempts, result or error and times; None if unknown.

        ``project_id``: the project given at enqueue, in whose scope the ID is (or pass the
        scoped ID ``enqueue_task`` returned); one project never reads another's task.
        Finished tasks are kept ``CACHE_TASK_STATUS_TTL`` (24 h); waiting and running ones
        until they finish.
        """
        return await self._tasks.status(task_id, project_id)

    async def wait_for_task(
        self,
        task_id: str,
        timeout: float,  # noqa: ASYNC109
        *,
        project_id: ProjectId | None = None,
    ) -> Task | None:
        """Wait until the task finishes (succeeded, dead or cancelled) and return it; None if
        the ID is unknown. Woken by the task's end (pub/sub on Redis), not by polling.
        Raises ``TimeoutError`` after ``timeout`` seconds, ``BackendError`` on a failure.
        A wait is not an operation: its length would pollute the latency figures."""
        return await self._tasks.wait(task_id, timeout, project_id)

    @guarded(TASK_CONTROL, attributes=_TASK)
    async def cancel_task(self, task_id: str, *, project_id: ProjectId | None = None) -> bool:
        """Cancel a task that has not started (or awaits a retry); False if it is running,
        finished or unknown (in ``project_id``'s scope)."""
        return await self._tasks.cancel(task_id, project_id)

    @guarded(TASK_CONTROL, attributes=_QUEUE)
    async def list_dead_tasks(self, queue: str, limit: int = 100) -> list[Task]:
        """The queue's dead-letter list: tasks whose every attempt failed, oldest first."""
        return await self._tasks.list_dead(queue, limit)

    @guarded(TASK_CONTROL, attributes=_QUEUE)
    async def requeue_dead_tasks(self, queue: str, task_ids: Sequence[str] | None = None) -> int:
        """Queue dead tasks again with fresh attempts (all of the queue's if ``task_ids`` is
        None); return how many were requeued."""
        return await self._tasks.requeue_dead(queue, task_ids)

    @guarded(TASK_CONTROL, attributes=_QUEUE)
    async def set_project_rate(
        self, queue: str, project_id: ProjectId | None, rate: float | None, burst: int = 1
    ) -> None:
        """Pace ``project_id``'s tasks on ``queue``: at most ``rate`` tasks a second start
        (a task of ``cost`` c counts c), ``burst`` at once after a quiet spell, whichever
        worker and process claims them. ``project_id`` None sets the queue's default, for
        every project without a rate of its own; ``rate`` None removes the rate. A project
        over its rate is skipped (others take its turn) until its time."""
        await self._tasks.set_project_rate(queue, project_id, rate, burst)

    @guarded(TASK_CONTROL, idempotent=True, attributes=_QUEUE)
    async def get_queue_stats(self, queue: str, sample: int = 0) -> QueueStats:
        """How many tasks ``queue`` holds waiting, running and dead (one round trip), with
        up to ``sample`` running task IDs (0 to 100)."""
        return await self._tasks.stats(queue, sample)

    # -- the worker's side: ``Worker`` calls these; they raise ``BackendError`` ------------
    @guarded(TASK_WORKER, name="worker.claim")
    async def claim_task(
        self, queue: str, worker: str, visibility_timeout: float, max_running: int | None = None
    ) -> TaskClaim:
        """Lease the next task of ``queue`` (the next project's turn) for
        ``visibility_timeout`` seconds; a project already running ``max_running`` tasks
        (default ``TASK_MAX_RUNNING_PER_PROJECT``; 0 no cap) waits its turn."""
        return await self._tasks.claim(queue, worker, visibility_timeout, self._cap(max_running))

    def _cap(self, max_running: int | None) -> int:
        if max_running is None:
            return self._task_setup.max_running
        return max_running

    @guarded(TASK_WORKER, name="worker.complete")
    async def complete_task(self, delivery: Delivery, result: Any) -> bool:
        """Record success with ``result`` (JSON); False if the lease was lost meanwhile."""
        return await self._tasks.complete(delivery, result)

    @guarded(TASK_WORKER, name="worker.complete_and_claim")
    async def complete_and_claim_task(
        self,
        delivery: Delivery,
        result: Any,
        worker: str,
        visibility_timeout: float,
        max_running: int | None = None,
    ) -> tuple[bool, TaskClaim]:
        """``complete_task``, then lease the queue's next due task, in one round trip."""
        return await self._tasks.complete_and_claim(
            delivery, result, worker, visibility_timeout, self._cap(max_running)
        )

    @guarded(TASK_WORKER, name="worker.settle")
    async def settle_tasks(
        self,
        queue: str,
        completions: Sequence[tuple[Delivery, bytes]],
        worker: str,
        visibility_timeout: float,
        count: int,
        max_running: int | None = None,
    ) -> Settled:
        """Record the successes of ``completions`` (deliveries of ``queue`` with results
        from ``task_queue.encode_result``), then lease up to ``count`` tasks, in one round
        trip: how a busy worker acknowledges a batch and fills its free slots."""
        return await self._tasks.settle(
            queue, completions, worker, visibility_timeout, count, self._cap(max_running)
        )

    @guarded(TASK_WORKER, name="worker.fail")
    async def fail_task(
        self, delivery: Delivery, error: str, retry_delay: float
    ) -> TaskStatus | None:
        """Record a failed attempt: FAILED (retry due in ``retry_delay`` s) or DEAD."""
        return await self._tasks.fail(delivery, error, retry_delay)

    @guarded(TASK_WORKER, name="worker.release")
    async def release_task(self, delivery: Delivery, pause: float = 0.0) -> bool:
        """Give a running delivery back to its queue (shutdown); not counted as an attempt.
        With ``pause`` seconds (an upstream rate limit), the delivery's project's tasks on
        the queue are not claimed for that long, by any worker."""
        return await self._tasks.release(delivery, pause)

    @guarded(TASK_WORKER, name="worker.extend")
    async def extend_tasks(
        self, queue: str, deliveries: Sequence[Delivery], visibility_timeout: float
    ) -> int:
        """Renew the leases of ``deliveries`` for ``visibility_timeout`` seconds."""
        return await self._tasks.extend(queue, deliveries, visibility_timeout)

    async def open_task_waiter(self, queue: str, max_wait: float) -> TaskWaiter:
        """A waiter that new tasks on ``queue`` wake (a blocking wait: not an operation)."""
        return await self._tasks.open_waiter(queue, max_wait)

    @property
    def task_queue(self) -> TaskQueueService:
        """The task service, for tests and tools; workers use the guarded methods above."""
        return self._tasks
