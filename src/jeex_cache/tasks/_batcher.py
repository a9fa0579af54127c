"""Group commit of a worker's successes: the slots that finish in one turn of the event loop
are acknowledged together, and their next tasks leased, in one round trip (``settle_tasks``).

While one batch is on the wire the next gathers, so a busy worker spends one script per
batch rather than one per task. The guarantees are the single acknowledgement's: each
completion is recorded only under its delivery's lease, and a batch that cannot be
recorded (the backend failing past ``SETTLE``) leaves its tasks to the visibility timeout.
A next task leased for a slot that is gone meanwhile (cancelled at shutdown) is released.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from jeex_cache.core.errors import BackendError
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.tasks.api import TaskQueueAPI
from jeex_cache.tasks.model import Delivery, Settled

__all__ = ["UNSETTLED", "AckBatcher"]

logger = logging.getLogger("jeex_cache.worker")

UNSETTLED = object()
"""A completion that could not be recorded (the backend failed past the retries)."""

_Outcome = tuple[object, Delivery | None]
_Entry = tuple[Delivery, bytes, bool, "asyncio.Future[_Outcome]"]


class AckBatcher:
    """Acknowledges a worker's successes in batches, leasing the slots' next tasks."""

    def __init__(
        self,
        manager: TaskQueueAPI,
        queue: str,
        worker: str,
        visibility: float,
        cap: int | None,
        settle_policy: RetryPolicy,
        backend_failed: Callable[[], None],
    ) -> None:
        self._manager = manager
        self._queue = queue
        self._worker = worker
        self._visibility = visibility
        self._cap = cap
        self._policy = settle_policy
        self._failed = backend_failed
        self._pending: list[_Entry] = []
        self._flushing: asyncio.Task[None] | None = None

    async def complete(self, delivery: Delivery, result: bytes, want_next: bool) -> _Outcome:
        """Record ``delivery``'s success (True, False if its lease had passed, or
        ``UNSETTLED``) and, with ``want_next``, the next task leased for this slot."""
        future: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((delivery, result, want_next, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def close(self) -> None:
        """Wait for the batch on the wire (a stopping worker)."""
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                settled = await self._settle(batch)
            except Exception as exc:  # not the backend's: every slot of the batch hears it
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            await self._hand_out(batch, settled)

    async def _hand_out(self, batch: list[_Entry], settled: Settled | None) -> None:
        if settled is None:
            for *_, future in batch:
                if not future.done():
                    future.set_result((UNSETTLED, None))
            return
        leased = list(settled.deliveries)
        orphans: list[Delivery] = []
        for (_, _, want_next, future), done in zip(batch, settled.done, strict=True):
            next_delivery = leased.pop(0) if want_next and leased else None
            if future.done():  # the slot was cancelled meanwhile
                orphans += [next_delivery] if next_delivery is not None else []
            else:
                future.set_result((done, next_delivery))
        for delivery in orphans + leased:
            try:
                await self._manager.release_task(delivery)
            except BackendError:  # it comes back after its visibility timeout
                self._failed()

    async def _settle(self, batch: list[_Entry]) -> Settled | None:
        completions = [(delivery, result) for delivery, result, _, _ in batch]
        wanted = sum(1 for _, _, want_next, _ in batch if want_next)
        retry = 0
        while True:
            try:
                return await self._manager.settle_tasks(
                    self._queue, completions, self._worker, self._visibility, wanted, self._cap
                )
            except BackendError:
                self._failed()
                if not self._policy.allows(retry, 0.0):
                    break
                await asyncio.sleep(self._policy.wait(retry))
                retry += 1
        logger.error(
            "worker %s could not record the outcome of %d task(s); they will be delivered "
            "again after their visibility timeout", self._worker, len(batch),
        )  # fmt: skip
        return None
