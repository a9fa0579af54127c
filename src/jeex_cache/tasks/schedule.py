"""Cron-like schedules a worker enqueues: ``Schedule("*/5 * * * *", "cleanup", payload)``.

Every worker of the queue runs the same schedules; each occurrence is enqueued under one
ID (``<queue>=cron.<key>.<unix seconds>``), so it is queued once however many workers see
it. ``missed="run_once"``: a worker that starts after occurrences passed with no worker up
enqueues the latest of them (its ID makes that a no-op if it was queued already, while its
status is kept, ``CACHE_TASK_STATUS_TTL``); ``missed="skip"``: only occurrences after the
start are queued. Cron expressions are parsed by ``cronsim`` (five fields, UTC).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cronsim import CronSim, CronSimError

from jeex_cache.core.clock import Clock
from jeex_cache.core.errors import BackendError, InvalidInputError
from jeex_cache.core.identifiers import validate_name
from jeex_cache.tasks.api import TaskQueueAPI

__all__ = ["Schedule", "Scheduler"]

logger = logging.getLogger("jeex_cache.worker")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Enqueue task ``name`` with ``payload`` at every occurrence of ``cron`` (UTC).

    ``key`` tells apart two schedules of one task name (default: the name).
    """

    cron: str
    name: str
    payload: Any = None
    missed: Literal["run_once", "skip"] = "run_once"
    key: str | None = None

    def __post_init__(self) -> None:
        validate_name(self.name, "task name")
        if self.key is not None:
            validate_name(self.key, "schedule key")
        if self.missed not in ("run_once", "skip"):
            raise InvalidInputError(f"missed must be 'run_once' or 'skip', got {self.missed!r}")
        try:
            CronSim(self.cron, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            raise InvalidInputError(f"invalid cron expression {self.cron!r}: {exc}") from exc

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment``."""
        return next(CronSim(self.cron, moment.replace(microsecond=0)))

    def latest_at(self, moment: datetime) -> datetime | None:
        """The last occurrence at or before ``moment`` (within a year), if any."""
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        return next(CronSim(self.cron, start, reverse=True), None)

    def task_id(self, queue: str, at: datetime) -> str:
        """The occurrence's idempotent task ID."""
        return f"{queue}=cron.{self.key or self.name}.{int(at.timestamp())}"


class Scheduler:
    """Enqueues the occurrences of a worker's schedules as they fall due on ``clock``."""

    def __init__(
        self, manager: TaskQueueAPI, queue: str, schedules: Sequence[Schedule], clock: Clock
    ) -> None:
        self._manager = manager
        self._queue = queue
        self._clock = clock
        now = self._now()
        self._next: list[datetime | None] = []
        for schedule in schedules:
            latest = schedule.latest_at(now) if schedule.missed == "run_once" else None
            self._next.append(latest if latest is not None else schedule.next_after(now))
        self._schedules = list(schedules)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), tz=UTC)

    async def tick(self) -> int:
        """Enqueue every occurrence due by now; return how many enqueue calls were made.

        An occurrence whose enqueue fails is tried again at the next tick."""
        now = self._now()
        calls = 0
        for i, schedule in enumerate(self._schedules):
            due = self._next[i]
            while due is not None and due <= now:
                task_id = schedule.task_id(self._queue, due)
                try:
                    await self._manager.enqueue_task(
                        self._queue, schedule.name, schedule.payload, task_id=task_id
                    )
                except BackendError:  # counted and logged by the guard
                    break
                calls += 1
                due = self._next[i] = schedule.next_after(max(due, now))
        return calls

    def seconds_to_next(self) -> float | None:
        """Seconds until the next occurrence of any schedule (None without schedules)."""
        upcoming = [due for due in self._next if due is not None]
        if not upcoming:
            return None
        return max(0.0, (min(upcoming) - self._now()).total_seconds())

    async def run(self, stop: asyncio.Event) -> None:
        """Tick as occurrences fall due (a minute's sleep at most), until ``stop`` is set."""
        while not stop.is_set():
            await self.tick()
            wait = self.seconds_to_next()
            try:
                async with asyncio.timeout(min(60.0, max(0.05, wait or 60.0))):
                    await stop.wait()
            except TimeoutError:
                pass
