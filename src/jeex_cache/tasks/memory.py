"""``TaskQueueRepository`` in process memory: the same contract as Redis, one process only.

Operations are synchronous code inside coroutines, hence atomic on the event loop. Time is
the injected clock. A queue (``_memory_state``) holds a heap of scheduled tasks by due time
with lazy deletion, its projects' ready tasks and their ring, leases and dead letters; idle
workers wait on a ``_Wake`` (tokens, like the Redis wake-up list).
Stale heap entries (a cancelled task's, say) are counted; once they outnumber the live ones
by ``_STALE_SLACK`` the heap is rebuilt without them, so cancelled tasks hold no place.

Tasks are charged to the backend's ``MemoryBudget`` (see the constants, measured with
tracemalloc) and never evicted: an enqueue that does not fit raises ``MemoryLimitError`` (the
caller knows its task was not queued). Settling a task is never refused: its result or error
is charged even past the bound, until the finished record expires. A project's group is
charged while it lives: from its first open task until its last one finished and its pacing
state (a pause, a rate's next slot) has run out, so a process that meets very many projects
holds only those it still has to remember.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Sequence

from jeex_cache.core.clock import Clock
from jeex_cache.core.codec import decode
from jeex_cache.core.memory_budget import MemoryBudget, held_bytes
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks._memory_state import NO_PROJECT, Group, QueueState, Record, task_of
from jeex_cache.tasks._wake import WakeWaiter
from jeex_cache.tasks.model import (
    Delivery,
    Pace,
    QueueStats,
    Settled,
    Task,
    TaskClaim,
    TaskStatus,
)
from jeex_cache.tasks.service import AGING, LOST_ERROR

__all__ = ["MemoryTaskQueueRepository"]

_WAITING = (TaskStatus.QUEUED, TaskStatus.FAILED)
_STALE_SLACK = 64
# What a task costs (tracemalloc, CPython 3.11, rounded up) beside its ID's, payload's,
# result's and error's lengths: its record, heap entries and table slot; and a project's
# group while it lives (its heaps, ring and table slots, its pacing state).
TASK_BYTES = 480
GROUP_BYTES = 400


class MemoryTaskQueueRepository:
    """Task queues and status records in dictionaries, on an injected clock."""

    def __init__(self, clock: Clock, budget: MemoryBudget | None = None) -> None:
        self._clock = clock
        self._budget = budget = MemoryBudget() if budget is None else budget
        budget.on_reclaim("tasks", lambda: self._drop_expired(self._now()))
        self._records: dict[str, Record] = {}
        self._queues: dict[str, QueueState] = {}
        self._expiry: list[tuple[int, str]] = []
        self._lingering: list[tuple[int, str, str]] = []  # (until, queue, group) to forget
        self._sequence = itertools.count()
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}

    def _now(self) -> int:
        return int(self._clock.time() * 1000)

    def _queue(self, name: str) -> QueueState:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = QueueState()
        return queue

    def _record(self, task_id: str, now: int) -> Record | None:
        record = self._records.get(task_id)
        if record is not None and record.expires_ms is not None and now >= record.expires_ms:
            del self._records[task_id]
            self._budget.release("tasks", record.size)
            return None
        return record

    def _drop_expired(self, now: int) -> None:
        """Drop the finished records whose status TTL has passed, and the groups left with
        nothing to remember."""
        while self._expiry and self._expiry[0][0] <= now:
            self._record(heapq.heappop(self._expiry)[1], now)
        while self._lingering and self._lingering[0][0] <= now:
            _, queue, name = heapq.heappop(self._lingering)
            group = self._queues[queue].groups.get(name)
            if group is not None:
                group.lingers = False
                if group.open == 0:  # else it came back meanwhile
                    self._retire(queue, name, now)

    def _open(self, queue: QueueState, name: str, group: Group | None = None) -> None:
        """One more open task in group ``name``; a group not there yet is made (its bytes
        were charged by the caller)."""
        if group is None:
            group = queue.groups[name] = Group()
        group.open += 1

    def _close(self, queue: str, name: str, now: int) -> None:
        """An open task of group ``name`` finished: retire the group once none is left."""
        group = self._queues[queue].groups[name]
        group.open -= 1
        if group.open == 0:
            self._retire(queue, name, now)

    def _retire(self, queue: str, name: str, now: int) -> None:
        """Forget an empty group and release its bytes, or, while its pacing state still
        matters, keep it until then."""
        q = self._queues[queue]
        until = q.pacer.until(name)
        if until > now:
            group = q.groups[name]
            if not group.lingers:  # one entry at a time: it looks again when it falls due
                group.lingers = True
                heapq.heappush(self._lingering, (until, queue, name))
            return
        q.forget(name)
        self._budget.release("tasks", GROUP_BYTES)

    def _recharge(self, task_id: str, record: Record) -> None:
        """Charge what ``record`` costs now (a result or an error came): never refused."""
        size = _task_bytes(task_id, record)
        self._budget.force("tasks", size - record.size)
        record.size = size

    def _schedule(self, task_id: str, record: Record, due: int) -> None:
        record.due_ms = due
        record.entry = next(self._sequence)
        heapq.heappush(self._queue(record.queue).pending, (due, record.entry, task_id))

    def _finish(self, task_id: str, record: Record, status: TaskStatus, now: int, ttl: TTL) -> None:
        queue = self._queue(record.queue)
        was_open = not record.status.finished  # a late acknowledgement finishes it again
        if record.entry != -1:  # its heap entry goes stale: drop it, or count it
            self._unschedule(queue, record)
        record.status, record.lease, record.entry = status, 0, -1
        record.updated_ms = record.finished_ms = now
        queue.unready(record)
        record.expires_ms = now + ttl.milliseconds
        heapq.heappush(self._expiry, (record.expires_ms, task_id))
        queue.leave_running(task_id, record)
        queue.dead.pop(task_id, None)
        if status is TaskStatus.DEAD:
            queue.dead[task_id] = now
        if was_open:
            self._close(record.queue, record.group, now)
        for waiter in self._waiting.pop(task_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    def _unschedule(self, queue: QueueState, record: Record) -> None:
        """Make the record's heap entry stale; rebuild the heap once stale entries dominate."""
        record.entry = -1
        queue.stale += 1
        if queue.stale > len(queue.pending) - queue.stale + _STALE_SLACK:
            records = self._records
            queue.pending = [
                item
                for item in queue.pending
                if (current := records.get(item[2])) is not None and current.entry == item[1]
            ]
            heapq.heapify(queue.pending)
            queue.stale = 0

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
        now = self._now()
        self._drop_expired(now)
        if self._record(task_id, now) is not None:
            return False
        record = Record(
            queue, name, held_bytes(payload), max_attempts, now, now, now + delay_ms,
            project or NO_PROJECT, priority,
        )  # fmt: skip
        record.cost, record.trace = cost, trace
        record.size = _task_bytes(task_id, record)
        q = self._queue(queue)
        group = q.groups.get(record.group)
        self._budget.charge("tasks", record.size + GROUP_BYTES * (group is None))  # may refuse
        self._open(q, record.group, group)
        self._records[task_id] = record
        if delay_ms > 0:
            self._schedule(task_id, record, now + delay_ms)
        else:
            self._queue(queue).make_ready(task_id, record, False)
        self._queue(queue).wake.notify()
        return True

    async def get(self, task_id: str) -> Task | None:
        record = self._record(task_id, self._now())
        return None if record is None else task_of(task_id, record)

    async def wait(self, task_id: str, seconds: float) -> Task | None:
        record = self._record(task_id, self._now())
        if record is not None and not record.status.finished:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(task_id, []).append(waiter)
            try:
                async with asyncio.timeout(seconds):
                    await waiter
            finally:
                if rest := [w for w in self._waiting.pop(task_id, []) if w is not waiter]:
                    self._waiting[task_id] = rest
        return await self.get(task_id)

    async def cancel(self, task_id: str, status_ttl: TTL) -> bool:
        now = self._now()
        record = self._record(task_id, now)
        if record is None or record.status not in _WAITING:
            return False
        self._finish(task_id, record, TaskStatus.CANCELLED, now, status_ttl)
        return True

    async def claim(
        self, queue: str, worker: str, visibility_ms: int, status_ttl: TTL, cap: int = 0
    ) -> TaskClaim:
        now = self._now()
        q = self._queue(queue)
        if self._lingering and self._lingering[0][0] <= now:
            self._drop_expired(now)  # groups whose pacing ran out go
        for task_id in [i for i, deadline in q.running.items() if deadline <= now][:32]:
            lost = self._record(task_id, now)
            if lost is None or lost.status is not TaskStatus.RUNNING:
                q.leave_running(task_id, lost)
                continue
            if lost.attempts >= lost.max_attempts:
                lease = lost.lease  # a late acknowledgement still wins
                self._finish(task_id, lost, TaskStatus.DEAD, now, status_ttl)
                lost.lease = lease
                lost.error = LOST_ERROR % lost.attempts
                self._recharge(task_id, lost)
            else:
                q.leave_running(task_id, lost)
                lost.status, lost.updated_ms, lost.due_ms = TaskStatus.QUEUED, now, now
                lost.redeliveries += 1
                q.make_ready(task_id, lost, False)
        for _ in range(32):  # delayed tasks and retries that fell due join their group
            if not q.pending or q.pending[0][0] > now:
                break
            _, entry, task_id = heapq.heappop(q.pending)
            record = self._record(task_id, now)
            if record is None or record.entry != entry or record.status not in _WAITING:
                q.stale = max(0, q.stale - 1)
                continue  # cancelled, settled or rescheduled since: a stale entry
            record.entry = -1
            q.make_ready(task_id, record, False)
        q.unpace(now)
        taken = q.take(self._records, cap, AGING, now)
        if taken is True:
            return TaskClaim(None, 0.0)  # groups at their cap were parked: ask again
        if isinstance(taken, str):
            record = self._records[taken]
            record.attempts += 1
            record.status, record.lease = TaskStatus.RUNNING, record.attempts
            record.started_ms = record.updated_ms = now
            q.running[taken] = now + visibility_ms
            group = None if record.group == NO_PROJECT else record.group
            delivery = Delivery(
                taken, queue, record.name, decode(record.payload), record.attempts,
                record.max_attempts, record.redeliveries, group, record.trace,
            )  # fmt: skip
            return TaskClaim(delivery)
        q.wake.clear()
        upcoming = [*(due for due, _, _ in q.pending[:1]), *q.running.values()]
        if (paced := q.pacer.next_at()) is not None:
            upcoming.append(paced)
        return TaskClaim(None, max(0, min(upcoming) - now) / 1000 if upcoming else None)

    def _leased(self, delivery: Delivery, now: int) -> Record | None:
        record = self._record(delivery.task_id, now)
        return record if record is not None and record.lease == delivery.attempt else None

    async def complete(self, delivery: Delivery, result: bytes, status_ttl: TTL) -> bool:
        now = self._now()
        record = self._leased(delivery, now)
        if record is None:
            return False
        self._finish(delivery.task_id, record, TaskStatus.SUCCEEDED, now, status_ttl)
        record.result, record.error = held_bytes(result), None
        self._recharge(delivery.task_id, record)
        return True

    async def complete_and_claim(
        self,
        delivery: Delivery,
        result: bytes,
        worker: str,
        visibility_ms: int,
        status_ttl: TTL,
        cap: int = 0,
    ) -> tuple[bool, TaskClaim]:
        completed = await self.complete(delivery, result, status_ttl)
        claim = await self.claim(delivery.queue, worker, visibility_ms, status_ttl, cap)
        return completed, claim

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
        done = tuple([await self.complete(d, result, status_ttl) for d, result in completions])
        deliveries: list[Delivery] = []
        wait = None
        for _ in range(count):
            claim = await self.claim(queue, worker, visibility_ms, status_ttl, cap)
            if claim.delivery is None:
                wait = claim.wait
                break
            deliveries.append(claim.delivery)
        return Settled(done, tuple(deliveries), 0.0 if deliveries else wait)

    async def fail(
        self, delivery: Delivery, error: str, retry_delay_ms: int, status_ttl: TTL
    ) -> TaskStatus | None:
        now = self._now()
        record = self._leased(delivery, now)
        if record is None:
            return None
        record.error = error
        self._recharge(delivery.task_id, record)
        if record.attempts >= record.max_attempts:
            self._finish(delivery.task_id, record, TaskStatus.DEAD, now, status_ttl)
            return TaskStatus.DEAD
        self._queue(record.queue).leave_running(delivery.task_id, record)
        self._queue(record.queue).unready(record)
        record.status, record.lease, record.updated_ms = TaskStatus.FAILED, 0, now
        self._schedule(delivery.task_id, record, now + retry_delay_ms)
        return TaskStatus.FAILED

    async def release(self, delivery: Delivery, pause_ms: int = 0) -> bool:
        now = self._now()
        record = self._leased(delivery, now)
        if record is None or record.status is not TaskStatus.RUNNING:
            return False
        queue = self._queue(record.queue)
        if pause_ms > 0:
            queue.pace_out(record.group, queue.pacer.pause(record.group, now + pause_ms))
        queue.leave_running(delivery.task_id, record)
        record.attempts -= 1
        record.status, record.lease, record.updated_ms = TaskStatus.QUEUED, 0, now
        record.due_ms = now
        queue.make_ready(delivery.task_id, record, True)
        queue.wake.notify()
        return True

    async def set_pace(self, queue: str, group: str, pace: Pace | None) -> None:
        q = self._queue(queue)
        if pace is None:
            q.pacer.paces.pop(group, None)
        else:
            q.pacer.paces[group] = pace
        if group in q.pacer.paced and q.pacer.hold.get(group, 0) <= self._now():
            del q.pacer.paced[group]  # its next claim checks the new pace
            q.activate(group)

    async def extend(self, queue: str, deliveries: Sequence[Delivery], visibility_ms: int) -> int:
        now = self._now()
        running = self._queue(queue).running
        held = 0
        for delivery in deliveries:
            record = self._leased(delivery, now)
            if record is not None and delivery.task_id in running:
                running[delivery.task_id] = now + visibility_ms
                held += 1
        return held

    async def list_dead(self, queue: str, limit: int, status_ttl: TTL) -> list[Task]:
        now = self._now()
        dead = self._queue(queue).dead
        tasks: list[Task] = []
        for task_id in list(dead):
            record = self._record(task_id, now)
            if record is None or record.status is not TaskStatus.DEAD:
                del dead[task_id]
            elif len(tasks) < limit:
                tasks.append(task_of(task_id, record))
        return tasks

    async def requeue_dead(self, queue: str, task_ids: Sequence[str] | None) -> int:
        now = self._now()
        q = self._queue(queue)
        requeued = 0
        for task_id in list(q.dead) if task_ids is None else task_ids:
            record = self._record(task_id, now)
            if task_id not in q.dead or (
                record is not None and record.status is not TaskStatus.DEAD
            ):
                continue
            del q.dead[task_id]
            if record is None:
                continue
            record.status, record.attempts, record.lease = TaskStatus.QUEUED, 0, 0
            record.updated_ms, record.finished_ms, record.expires_ms = now, None, None
            record.due_ms = now
            group = q.groups.get(record.group)
            if group is None:  # retired since it died: back, charged past the bound (the
                self._budget.force("tasks", GROUP_BYTES)  # task is held already)
            self._open(q, record.group, group)
            q.make_ready(task_id, record, False)
            requeued += 1
        if requeued:
            q.wake.notify()
        return requeued

    async def stats(self, queue: str, sample: int) -> QueueStats:
        q = self._queue(queue)
        now = self._now()
        dead = sum(1 for task_id in q.dead if self._record(task_id, now) is not None)
        ids = tuple(list(q.running)[:sample])
        ready = sum(group.live for group in q.groups.values())
        return QueueStats(queue, len(q.pending) - q.stale + ready, len(q.running), dead, ids)

    async def open_waiter(self, queue: str, max_wait: float) -> WakeWaiter:
        return WakeWaiter(self._queue(queue).wake, max_wait)


def _task_bytes(task_id: str, record: Record) -> int:
    size = TASK_BYTES + 49 + len(task_id) + 33 + len(record.payload)
    if record.result is not None:
        size += 33 + len(record.result)
    if record.error is not None:
        size += 49 + len(record.error)
    if record.trace is not None:
        size += 49 + len(record.trace)
    return size
