"""What a task handler gets besides its payload (``TaskContext``, the progress seam), and what
a worker counts (``WorkerStats``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from jeex_cache.domain.entities import Delivery

__all__ = ["NO_PROGRESS", "ProgressReporter", "ProgressStarter", "TaskContext", "WorkerStats"]

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


class ProgressStarter(Protocol):
    """Where ``ctx.start_progress`` goes: ``(correlation_id, total_steps, message)``."""

    async def __call__(self, correlation_id: str, total_steps: int, message: str, /) -> object: ...


"""The default reporter: logs at DEBUG and keeps nothing."""


class TaskContext:
    """The running delivery's identity and a way to report its progress."""

    __slots__ = ("_reporter", "_starter", "attempt", "max_attempts", "name", "queue", "task_id")

    def __init__(
        self,
        delivery: Delivery,
        reporter: ProgressReporter,
        starter: ProgressStarter | None = None,
    ) -> None:
        self.task_id = delivery.task_id
        self.queue = delivery.queue
        self.name = delivery.name
        self.attempt = delivery.attempt
        """This delivery's number, from 1 (a redelivery after a lost worker counts)."""
        self.max_attempts = delivery.max_attempts
        self._reporter = reporter
        self._starter = starter

    async def start_progress(self, total_steps: int, message: str = "") -> None:
        """Start tracking this task's progress under its ID (anew on a redelivery), so that
        ``report_progress`` has an operation to update and listeners can follow it."""
        if self._starter is not None:
            await self._starter(self.task_id, total_steps, message)

    async def report_progress(self, step: int, message: str) -> None:
        """Report that the task reached ``step`` (with a human-readable ``message``)."""
        await self._reporter(self.task_id, step, message)

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
    superseded: int = 0  # outcomes dropped: the delivery's lease had passed to another
