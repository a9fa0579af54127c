"""The rules of background tasks: validation, IDs, and the queue service.

``TaskQueueService`` validates and encodes everything before its repository sees it, so bad
input raises a typed error and nothing is stored. Workers use its claim, complete, fail,
release and extend operations (through the manager's guarded ``claim_task``...); callers
use enqueue, status and cancel.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypeAlias

from opentelemetry import trace

from jeex_cache.core.codec import encode
from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.identifiers import (
    ProjectId,
    id_text,
    parse_id,
    scope_id,
    scope_of,
    validate_name,
)
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks.keys import QUEUE_MARK, check_id_queue, validate_task_id
from jeex_cache.tasks.model import (
    Delivery,
    Pace,
    QueueStats,
    Settled,
    Task,
    TaskClaim,
    TaskStatus,
)
from jeex_cache.tasks.repository import TaskQueueRepository, TaskWaiter
from jeex_cache.tasks.tracing import sending

__all__ = [
    "AGING",
    "LOST_ERROR",
    "MAX_PRIORITY",
    "MAX_ATTEMPTS",
    "MAX_ERROR_LENGTH",
    "PACE_DEFAULT",
    "DelayLike",
    "TaskQueueService",
    "new_task_id",
    "scoped_task_id",
    "validate_pace",
    "validate_queue",
]

DelayLike = int | float | timedelta
PACE_DEFAULT = "*"
"""The pace group every project without a rate of its own follows."""

MAX_ATTEMPTS = 1_000
MAX_ERROR_LENGTH = 2_000
MAX_DEAD_LISTED = 10_000
MAX_STATS_SAMPLE = 100  # running task IDs a queue's stats may carry
# The error of a task whose last delivery was never acknowledged (its worker died).
LOST_ERROR = "lost: no acknowledgement within the visibility timeout (attempt %d)"
_MAX_DELAY_MS = TTL.MAX_MILLISECONDS
MAX_PRIORITY = 999_999
AGING = 8
"""Every 8th claim of a project's group takes its oldest task instead of its first by
priority: a task with ``n`` tasks of its group ahead of it by age starts within
``8 * (n + 1)`` claims of its group, whatever the priorities."""


def new_task_id(queue: str) -> str:
    """A fresh random task ID that names its queue: ``<queue>=<32 hex digits>``."""
    return f"{queue}{QUEUE_MARK}{uuid.uuid4().hex}"


Project: TypeAlias = ProjectId | None
"""The project in whose scope a call names its task (None: the scope of no project)."""


def scoped_task_id(task_id: str, project: Project) -> str:
    """A validated task ID in ``project``'s scope (``core.identifiers.scope_id``)."""
    owner = None if project is None else parse_id(project)
    return scope_id(validate_task_id(task_id), owner)


def validate_queue(queue: str) -> str:
    """A queue name: letters, digits, ``_ . -``, at most 64 characters."""
    return validate_name(queue, "queue name", max_length=64)


class TaskQueueService:
    """Enqueue, inspect and cancel tasks; claim and settle deliveries for workers."""

    def __init__(
        self, repository: TaskQueueRepository, status_ttl: TTL, max_payload_bytes: int
    ) -> None:
        self._repository = repository
        self._status_ttl = status_ttl
        self._max_payload_bytes = max_payload_bytes

    async def enqueue(
        self,
        queue: str,
        name: str,
        payload: Any,
        *,
        task_id: str | None = None,
        delay: DelayLike | None = None,
        max_attempts: int = 3,
        project: str | None = None,
        priority: int = 0,
        cost: int = 1,
        tracer: trace.Tracer | None = None,
    ) -> tuple[str, bool]:
        """Store and queue a task; return its ID and whether it was new (False: ID in use).

        ``project`` is the tenant group whose turn the task takes, and the scope of its ID
        (``scope_id``: two projects' equal IDs are two tasks); an ID scoped already gives
        its project. ``priority`` orders the group's tasks, higher first; ``cost`` (1 to
        1,000,000) is the task's weight in its project's pace. With a ``tracer``, the store
        is a PRODUCER span whose context the task carries (``tasks.tracing``)."""
        validate_queue(queue)
        validate_name(name, "task name")
        owner = None if project is None else parse_id(project)
        if task_id is None:
            task_id = new_task_id(queue)
        else:
            check_id_queue(validate_task_id(task_id), queue)
        task_id = scope_id(task_id, owner)
        scope = scope_of(task_id)[0]
        project = None if scope is None else str(scope)
        if type(priority) is not int or not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
            raise InvalidInputError(
                f"priority must be an integer from {-MAX_PRIORITY} to {MAX_PRIORITY}, "
                f"got {priority!r}"
            )
        if type(max_attempts) is not int or not 1 <= max_attempts <= MAX_ATTEMPTS:
            raise InvalidInputError(
                f"max_attempts must be an integer from 1 to {MAX_ATTEMPTS}, got {max_attempts!r}"
            )
        if type(cost) is not int or not 1 <= cost <= 1_000_000:
            raise InvalidInputError(f"cost must be an integer from 1 to 1,000,000, got {cost!r}")
        delay_ms = _delay_ms(delay)
        encoded = encode(payload, self._max_payload_bytes)
        with sending(tracer, queue, task_id) as context:
            created = await self._repository.enqueue(
                task_id, queue, name, encoded, max_attempts, delay_ms, project, priority, cost,
                context,
            )  # fmt: skip
        return task_id, created

    async def status(self, task_id: str, project: Project = None) -> Task | None:
        """The task's status, or None if unknown (or finished more than the TTL ago);
        ``project``: the scope the ID is in."""
        return await self._repository.get(scoped_task_id(task_id, project))

    async def wait(self, task_id: str, seconds: float, project: Project = None) -> Task | None:
        """The task once finished (None if unknown); ``TimeoutError`` after ``seconds``."""
        task_id = scoped_task_id(task_id, project)
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
            raise InvalidInputError(f"timeout must be positive seconds, got {seconds!r}")
        return await self._repository.wait(task_id, float(seconds))

    async def cancel(self, task_id: str, project: Project = None) -> bool:
        """Cancel a task that has not started (or awaits a retry); False otherwise."""
        task_id = scoped_task_id(task_id, project)
        return await self._repository.cancel(task_id, self._status_ttl)

    async def list_dead(self, queue: str, limit: int = 100) -> list[Task]:
        """The queue's dead-letter list, oldest first, at most ``limit`` tasks."""
        if type(limit) is not int or not 1 <= limit <= MAX_DEAD_LISTED:
            raise InvalidInputError(f"limit must be 1 to {MAX_DEAD_LISTED}, got {limit!r}")
        return await self._repository.list_dead(validate_queue(queue), limit, self._status_ttl)

    async def requeue_dead(self, queue: str, task_ids: Sequence[str] | None = None) -> int:
        """Queue dead tasks again with fresh attempts; return how many were requeued."""
        validate_queue(queue)
        ids = None
        if task_ids is not None:
            if isinstance(task_ids, str):
                raise InvalidInputError("task_ids must be a sequence of task IDs, not one string")
            ids = [validate_task_id(task_id) for task_id in task_ids]
            if not ids:
                return 0
        return await self._repository.requeue_dead(queue, ids)

    async def stats(self, queue: str, sample: int = 0) -> QueueStats:
        """The queue's depths, with up to ``sample`` running task IDs (0 to 100)."""
        if type(sample) is not int or not 0 <= sample <= MAX_STATS_SAMPLE:
            raise InvalidInputError(f"sample must be 0 to {MAX_STATS_SAMPLE}, got {sample!r}")
        return await self._repository.stats(validate_queue(queue), sample)

    # -- the worker's side ---------------------------------------------------------------
    async def claim(
        self, queue: str, worker: str, visibility_timeout: float, max_running: int = 0
    ) -> TaskClaim:
        """Lease the next task of ``queue`` (the next project's turn) for
        ``visibility_timeout`` seconds; ``max_running`` caps one project's running tasks."""
        return await self._repository.claim(
            queue, worker, _positive_ms(visibility_timeout), self._status_ttl,
            _cap(max_running),
        )  # fmt: skip

    async def complete(self, delivery: Delivery, result: Any) -> bool:
        """Record success with ``result`` (JSON); False if the lease was lost meanwhile."""
        encoded = encode(result, self._max_payload_bytes)
        return await self._repository.complete(delivery, encoded, self._status_ttl)

    async def complete_and_claim(
        self,
        delivery: Delivery,
        result: Any,
        worker: str,
        visibility_timeout: float,
        max_running: int = 0,
    ) -> tuple[bool, TaskClaim]:
        """``complete``, then lease the queue's next due task, in one round trip."""
        encoded = encode(result, self._max_payload_bytes)
        return await self._repository.complete_and_claim(
            delivery, encoded, worker, _positive_ms(visibility_timeout), self._status_ttl,
            _cap(max_running),
        )  # fmt: skip

    def encode_result(self, result: Any) -> bytes:
        """A task's result as stored (``InvalidInputError`` if not JSON or too large)."""
        return encode(result, self._max_payload_bytes)

    async def settle(
        self,
        queue: str,
        completions: Sequence[tuple[Delivery, bytes]],
        worker: str,
        visibility_timeout: float,
        count: int,
        max_running: int = 0,
    ) -> Settled:
        """Complete ``completions`` (results from ``encode_result``) and lease up to
        ``count`` tasks of ``queue``, in one round trip."""
        if type(count) is not int or not 0 <= count <= 1_000:
            raise InvalidInputError(f"count must be 0 to 1,000, got {count!r}")
        if any(delivery.queue != queue for delivery, _ in completions):
            raise InvalidInputError(f"every completion must be a delivery of {queue!r}")
        return await self._repository.settle(
            validate_queue(queue), completions, worker, _positive_ms(visibility_timeout),
            self._status_ttl, _cap(max_running), count,
        )  # fmt: skip

    async def fail(self, delivery: Delivery, error: str, retry_delay: float) -> TaskStatus | None:
        """Record a failed attempt: FAILED (retry due in ``retry_delay`` s) or DEAD."""
        message = error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 3] + "..."
        retry_ms = max(0, round(retry_delay * 1000))
        return await self._repository.fail(delivery, message, retry_ms, self._status_ttl)

    async def release(self, delivery: Delivery, pause: float = 0.0) -> bool:
        """Give a running delivery back to its queue (shutdown); not counted as an attempt.
        With ``pause`` seconds, its project's tasks on the queue wait that long."""
        return await self._repository.release(delivery, _pause_ms(pause))

    async def set_project_rate(
        self, queue: str, project: Project, rate: float | None, burst: int = 1
    ) -> None:
        """Pace ``project``'s tasks on ``queue`` to ``rate`` a second (``burst`` at once);
        project None: every project without a rate of its own. ``rate`` None removes it."""
        group = PACE_DEFAULT if project is None else id_text(parse_id(project))
        pace = None if rate is None else validate_pace(rate, burst)
        await self._repository.set_pace(validate_queue(queue), group, pace)

    async def extend(
        self, queue: str, deliveries: Sequence[Delivery], visibility_timeout: float
    ) -> int:
        """Renew the leases of ``deliveries`` for ``visibility_timeout`` seconds."""
        if not deliveries:
            return 0
        return await self._repository.extend(queue, deliveries, _positive_ms(visibility_timeout))

    async def open_waiter(self, queue: str, max_wait: float) -> TaskWaiter:
        """A waiter that new tasks on ``queue`` wake."""
        return await self._repository.open_waiter(validate_queue(queue), max_wait)


def validate_pace(rate: float, burst: int) -> Pace:
    """A ``Pace`` of ``rate`` tasks a second (0.001 to 1,000,000), ``burst`` 1 to 1,000,000."""
    if (
        not isinstance(rate, int | float) or isinstance(rate, bool) or not math.isfinite(rate)
        or not 0.001 <= rate <= 1_000_000
    ):  # fmt: skip
        raise InvalidInputError(f"rate must be 0.001 to 1,000,000 tasks a second, got {rate!r}")
    if type(burst) is not int or not 1 <= burst <= 1_000_000:
        raise InvalidInputError(f"burst must be 1 to 1,000,000 tasks, got {burst!r}")
    return Pace(float(rate), burst)


def _pause_ms(seconds: float) -> int:
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputError(f"a pause must be 0 or more seconds, got {seconds!r}")
    return min(round(seconds * 1000), _MAX_DELAY_MS)


def _delay_ms(delay: DelayLike | None) -> int:
    if delay is None:
        return 0
    seconds: float
    if isinstance(delay, timedelta):
        seconds = delay.total_seconds()
    elif isinstance(delay, int | float) and not isinstance(delay, bool):
        seconds = delay
    else:
        raise InvalidInputError(f"delay must be seconds or a timedelta, got {delay!r}")
    if not math.isfinite(seconds) or seconds < 0 or seconds * 1000 > _MAX_DELAY_MS:
        raise InvalidInputError(f"delay must be 0 to ten years, got {delay!r}")
    return round(seconds * 1000)


def _cap(max_running: int) -> int:
    if type(max_running) is not int or max_running < 0:
        raise InvalidInputError(f"max_running must be 0 (no cap) or more, got {max_running!r}")
    return max_running


def _positive_ms(seconds: float) -> int:
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInputError(f"a timeout must be a positive number of seconds, got {seconds!r}")
    return max(1, round(seconds * 1000))
