"""How a worker records a delivery's outcome: through the manager's guarded worker calls.

Each settlement is tried a few times (``SETTLE``: 50 ms doubling between tries) while the
backend fails; one that still fails is left to the visibility timeout, which delivers the
task again. The guard counts and logs every failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from jeex_cache.core.errors import BackendError, InvalidInputError
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.tasks._batcher import AckBatcher
from jeex_cache.tasks.api import TaskQueueAPI
from jeex_cache.tasks.context import ManagedProgress, WorkerStats
from jeex_cache.tasks.model import Delivery, TaskStatus

__all__ = ["SETTLE", "Settlements"]

logger = logging.getLogger("jeex_cache.worker")

SETTLE = RetryPolicy(0.05, 2.0, 0.4, retries=4)
"""Five tries of a settlement: 50, 100, 200 and 400 ms between them."""

_UNSETTLED = object()


class Settlements:
    """Release, complete or fail one worker's deliveries, counting them in its stats."""

    __slots__ = ("_batcher", "_failed", "_managed", "_manager", "_retry", "_stats", "_worker")

    def __init__(
        self,
        manager: TaskQueueAPI,
        worker: str,
        visibility: float,
        retry: RetryPolicy,
        stats: WorkerStats,
        managed: ManagedProgress | None,
        backend_failed: Callable[[], None],
        cap: int | None = None,
        *,
        queue: str,
    ) -> None:
        self._manager = manager
        self._worker = worker
        self._retry = retry
        self._stats = stats
        self._managed = managed
        self._failed = backend_failed
        self._batcher = AckBatcher(manager, queue, worker, visibility, cap, SETTLE, backend_failed)

    async def close(self) -> None:
        """Wait for the acknowledgements on the wire (a stopping worker)."""
        await self._batcher.close()

    async def release(self, delivery: Delivery) -> None:
        """Give ``delivery`` back to its queue undone (a stopping worker)."""
        if await self._settle(self._manager.release_task, delivery) is True:
            self._stats.released += 1

    async def paused(self, delivery: Delivery, seconds: float) -> None:
        """Give ``delivery`` back undone and pause its project (an upstream rate limit)."""
        if await self._settle(self._manager.release_task, delivery, max(0.0, seconds)) is True:
            self._stats.paused += 1

    async def succeeded(
        self, delivery: Delivery, result: Any, chain: bool
    ) -> tuple[TaskStatus | None, Delivery | None]:
        """Complete ``delivery`` (in a batch with the worker's other successes); with
        ``chain`` also lease the slot's next task (returned, or None)."""
        try:
            encoded = self._manager.task_queue.encode_result(result)
        except InvalidInputError as exc:  # the result is not JSON, or too large
            return await self.failed(delivery, exc), None
        settled, next_delivery = await self._batcher.complete(delivery, encoded, chain)
        if next_delivery is not None:
            self._stats.claimed += 1
        if settled is True:
            self._stats.succeeded += 1
            return TaskStatus.SUCCEEDED, next_delivery
        if settled is False:
            self._stats.superseded += 1
        return None, next_delivery

    async def failed(self, delivery: Delivery, exc: BaseException) -> TaskStatus | None:
        """Record a failed attempt: a retry after the backoff (FAILED), or DEAD."""
        error = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "task %s (%s) attempt %d/%d failed: %s",
            delivery.task_id, delivery.name, delivery.attempt, delivery.max_attempts, error,
            exc_info=exc if not isinstance(exc, LookupError | InvalidInputError) else None,
        )  # fmt: skip
        delay = self._retry.seconds_after(delivery.attempt)
        outcome = await self._settle(self._manager.fail_task, delivery, error, delay)
        if outcome is TaskStatus.FAILED:
            self._stats.retried += 1
        elif outcome is TaskStatus.DEAD:
            self._stats.dead += 1
            if self._managed is not None:
                await self._managed.dead(delivery.task_id, error)
        elif outcome is None:
            self._stats.superseded += 1
        return outcome if isinstance(outcome, TaskStatus) else None

    async def _settle(self, operation: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        retry = 0
        while True:
            try:
                return await operation(*args)
            except BackendError:
                self._failed()
                if not SETTLE.allows(retry, 0.0):
                    break
                await asyncio.sleep(SETTLE.wait(retry))
                retry += 1
        logger.error(
            "worker %s could not record the outcome of task %s; it will be delivered again "
            "after its visibility timeout", self._worker, args[0].task_id,
        )  # fmt: skip
        return _UNSETTLED
