"""What a task handler gets besides its payload (``TaskContext``, the progress seam), and what
a worker counts (``WorkerStats``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from jeex_cache.core.errors import JeexCacheError
from jeex_cache.tasks.model import Delivery

if TYPE_CHECKING:
    from jeex_cache.manager import CacheManager

__all__ = [
    "NO_PROGRESS",
    "ManagedProgress",
    "ProgressReporter",
    "ProgressStarter",
    "RateLimited",
    "TaskContext",
    "WorkerContext",
    "WorkerStats",
]

logger = logging.getLogger("jeex_cache.worker")


class ProgressReporter(Protocol):
    """Where ``ctx.report_progress`` goes: ``(correlation_id, step, message)``.

    The task ID is the correlation ID, so a task's progress can be followed under its ID.
    ``CacheManager.update_progress`` has this shape (the progress API).
    """

    async def __call__(self, correlation_id: str, step: int, message: str, /) -> object: ...


async def _no_progress(correlation_id: str, step: int, message: str, /) -> None:
    logger.debug("task %s: step %d: %s (no progress reporter)", correlation_id, step, message)


NO_PROGRESS: ProgressReporter = _no_progress
"""The default reporter: logs at DEBUG and keeps nothing."""


class ProgressStarter(Protocol):
    """Where ``ctx.start_progress`` goes: ``(correlation_id, total_steps, message)``."""

    async def __call__(self, correlation_id: str, total_steps: int, message: str, /) -> object: ...


class _ProgressCalls(Protocol):
    """The part of ``CacheManager`` a worker's own progress goes through."""

    def start_progress_tracking(
        self, correlation_id: str, total_steps: int, message: str = "", *, restart: bool = False
    ) -> Awaitable[object]: ...

    def update_progress(
        self, correlation_id: str, step: int, message: str = ""
    ) -> Awaitable[object]: ...

    def complete_progress(self, correlation_id: str, message: str = "") -> Awaitable[object]: ...

    def fail_progress(self, correlation_id: str, error: str) -> Awaitable[object]: ...


class ManagedProgress:
    """A worker's default progress: the manager's progress API under the task ID.

    A start replaces an earlier attempt's record (it keeps the owner given at enqueue); the
    worker ends the record with the task: completed on success, failed once the task is dead.
    Progress never fails a task: the progress API turns backend failures into results.
    """

    __slots__ = ("_api",)

    def __init__(self, api: _ProgressCalls) -> None:
        self._api = api

    async def start(self, task_id: str, total_steps: int, message: str) -> object:
        """``ctx.start_progress``: track this attempt from step 0."""
        return await self._api.start_progress_tracking(task_id, total_steps, message, restart=True)

    async def report(self, task_id: str, step: int, message: str) -> object:
        """``ctx.report_progress``: to ``step``."""
        return await self._api.update_progress(task_id, step, message)

    async def succeeded(self, context: TaskContext) -> None:
        """The task succeeded: complete its progress, if this or an earlier attempt had one
        (a first attempt that never reported costs no round trip)."""
        if context.reported or context.attempt > 1:
            await self._api.complete_progress(context.task_id, "succeeded")

    async def dead(self, task_id: str, error: str) -> None:
        """The task is dead (no attempt left): its progress fails with the last error."""
        await self._api.fail_progress(task_id, error)


class RateLimited(JeexCacheError):  # noqa: N818 - the name handlers raise, as AccessDenied
    """Raised by a handler that met an upstream rate limit (an HTTP 429): its task goes back
    to the queue without using an attempt, and its project's tasks on the queue are not
    claimed, by any worker, for ``retry_after`` seconds."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"rate limited: retry after {retry_after} s")
        self.retry_after = retry_after


class WorkerContext:
    """What the ``on_startup`` and ``on_shutdown`` hooks of a worker get.

    ``cache`` is the worker's own manager; ``state`` is the dict every ``TaskContext`` of
    this worker shares: the startup hook puts a database pool or an HTTP client there.
    """

    __slots__ = ("cache", "queue", "state", "worker")

    def __init__(self, cache: CacheManager, queue: str, worker: str, state: dict[str, Any]) -> None:
        self.cache = cache
        self.queue = queue
        self.worker = worker
        """The worker's name."""
        self.state = state

    def __repr__(self) -> str:
        return f"WorkerContext({self.worker!r}, queue {self.queue!r})"


class TaskContext:
    """The running delivery's identity, the worker's manager and state, and a way to report
    the task's progress.

    ``cache`` is the worker's own manager (a handler never needs the global one); ``state``
    the dict the worker's ``on_startup`` hook filled; ``project_id`` the project given at
    enqueue (None without one).
    """

    __slots__ = (
        "_reporter", "_starter", "attempt", "cache", "max_attempts", "name", "project_id",
        "queue", "reported", "state", "task_id",
    )  # fmt: skip

    def __init__(
        self,
        delivery: Delivery,
        reporter: ProgressReporter,
        starter: ProgressStarter | None = None,
        *,
        cache: CacheManager,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.task_id = delivery.task_id
        self.queue = delivery.queue
        self.name = delivery.name
        self.project_id = delivery.project_id
        self.attempt = delivery.attempt
        """This delivery's number, from 1 (a redelivery after a lost worker counts)."""
        self.max_attempts = delivery.max_attempts
        self.reported = False
        """True once the handler started or reported progress in this delivery."""
        self.cache = cache
        self.state: dict[str, Any] = {} if state is None else state
        self._reporter = reporter
        self._starter = starter

    async def start_progress(self, total_steps: int, message: str = "") -> None:
        """Start tracking this task's progress under its ID (anew on a redelivery), so that
        ``report_progress`` has an operation to update and listeners can follow it. It
        belongs to the project given at enqueue, and ends with the task."""
        if self._starter is not None:
            self.reported = True
            await self._starter(self.task_id, total_steps, message)

    async def report_progress(self, step: int, message: str) -> None:
        """Report that the task reached ``step`` (with a human-readable ``message``)."""
        self.reported = True
        await self._reporter(self.task_id, step, message)

    def pause_project(self, seconds: float) -> NoReturn:
        """Stop this task and pause its project's tasks on the queue for ``seconds``: raises
        ``RateLimited``, so the task goes back without using an attempt."""
        raise RateLimited(seconds)

    def __repr__(self) -> str:
        return f"TaskContext({self.task_id!r}, {self.name!r}, attempt {self.attempt})"


@dataclass(slots=True)
class WorkerStats:
    """What a worker did since it started."""

    claimed: int = 0
    succeeded: int = 0
    retried: int = 0  # failed attempts with a retry scheduled
    dead: int = 0
    released: int = 0  # handed back undone at shutdown
    paused: int = 0  # handed back undone by RateLimited, their project paused
    superseded: int = 0  # outcomes dropped: the delivery's lease had passed to another
