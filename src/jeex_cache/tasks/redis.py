"""``TaskQueueRepository`` on Redis: every operation is one Lua script (or one command).

Every key of a queue is in its hash tag ``{<q>}``, so each script's keys share a slot and it
declares them all (the same eleven, see ``lua/_task_lib.lua``): ``queue:{<q>}`` the scheduled
tasks (delayed, retries) by due ms, ``:running`` leased deliveries by deadline, ``:dead``,
``:wake`` (idle workers ``BLPOP`` it), ``:rec`` the records (one hash: the task's head,
see ``_redis_records.head``, under ``<id>``, and ``<id>|<field>``),
``:prio`` and ``:fifo`` the ready tasks of every group (lex-ordered), ``:ring`` the groups
with ready tasks by turn, ``:meta`` counters, paces and the count of waiting callers
(``listen``), ``:expiry`` finished records by
expiry, and ``:paced`` the groups held back by their rate or a pause, by when they may go.
A caller-chosen task ID also has a pointer ``task:{<id>}`` to its queue (see ``_pointers``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from jeex_cache.config import Settings
from jeex_cache.core.errors import BackendError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.keys import KeySpace
from jeex_cache.core.scripts import EncodedArg, LuaScript
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks import keys as task_keys
from jeex_cache.tasks._redis_records import STATUS, claim_of, head, settled_of, task_of
from jeex_cache.tasks._redis_waiter import RedisTaskWaiter, wait_finished
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

__all__ = ["RedisTaskQueueRepository"]


def _load(name: str, durable: bool = False) -> LuaScript:
    return LuaScript.load(__name__, name, durable=durable, library="_task_lib")


_ENQUEUE = _load("task_enqueue", durable=True)
_CLAIM = _load("task_claim")
_FAIL = _load("task_fail")
_RELEASE = _load("task_release")
_EXTEND = _load("task_extend")
_CANCEL = _load("task_cancel")
_GET = _load("task_get")
_DEAD_LIST = _load("task_dead_list")
_REQUEUE = _load("task_requeue")
_PACE = _load("task_pace")

WAKE_TOKENS = 64  # most wake-up tokens a queue keeps while every worker is busy
CHUNK = 500  # the most tasks one script call looks at, so that no call holds the server long
_PARTS = ("running", "dead", "wake", "rec", "prio", "fifo", "ring", "meta", "expiry", "paced")


class _QueueKeys:
    """The namespaced keys of one queue, in the order every script takes them."""

    __slots__ = ("all", "done", "meta", "wake")

    def __init__(self, keys: KeySpace, queue: str) -> None:
        parts = [keys(task_keys.task_queue_part(queue, part)) for part in _PARTS]
        self.all = (keys(task_keys.task_queue(queue)), *parts)
        self.wake = parts[2]
        self.meta = parts[7]
        self.done = keys(task_keys.task_queue_part(queue, "done")) + ":"


class RedisTaskQueueRepository:
    """Task queues and status records in Redis; see the module docstring for the keys."""

    def __init__(self, executor: RedisExecutor, settings: Settings) -> None:
        self._redis = executor
        self._settings = settings
        self._keys = executor.keys
        self._queues: dict[str, _QueueKeys] = {}

    def _q(self, queue: str) -> _QueueKeys:
        keys = self._queues.get(queue)
        if keys is None:
            if len(self._queues) >= 1_000:
                self._queues.clear()
            keys = self._queues[queue] = _QueueKeys(self._keys, queue)
        return keys

    async def _run(self, script: LuaScript, queue: str, *args: EncodedArg) -> Any:
        q = self._q(queue)
        return await self._redis.script(script, q.all, (q.done, *args))

    # -- caller-chosen IDs: two single-slot steps, the pointer first ------------------------
    def _pointer(self, task_id: str) -> str:
        return self._keys(task_keys.task(task_id))

    async def _queue_of(self, task_id: str) -> str | None:
        queue = task_keys.queue_of(task_id)
        if queue is not None:
            return queue
        named = await self._redis.command("GET", self._pointer(task_id))
        return None if named is None else str(named.decode())

    async def _claim_pointer(self, task_id: str, queue: str) -> bool:
        """Point the ID at ``queue``; False if it names another queue that still holds it."""
        old = await self._redis.command("SET", self._pointer(task_id), queue, "NX", "GET")
        if old is None or old.decode() == queue:
            return True
        if await self._get_in(old.decode(), task_id) is not None:
            return False
        await self._redis.command("SET", self._pointer(task_id), queue)
        return True

    async def _expire_pointer(self, task_id: str, status_ttl: TTL) -> None:
        if task_keys.queue_of(task_id) is None:
            await self._redis.command("PEXPIRE", self._pointer(task_id), status_ttl.milliseconds)

    # -- the operations ---------------------------------------------------------------------
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
        if task_keys.queue_of(task_id) is None and not await self._claim_pointer(task_id, queue):
            return False
        fixed = head(max_attempts, name, payload, trace)
        args = (task_id, fixed, delay_ms, WAKE_TOKENS, project or "-", priority, cost)
        return bool(await self._run(_ENQUEUE, queue, *args))

    async def _get_in(self, queue: str, task_id: str) -> Task | None:
        fields = await self._run(_GET, queue, task_id)
        if not fields:
            return None
        return task_of(task_id, queue, dict(zip(fields[::2], fields[1::2], strict=True)))

    async def get(self, task_id: str) -> Task | None:
        queue = await self._queue_of(task_id)
        return None if queue is None else await self._get_in(queue, task_id)

    async def wait(self, task_id: str, seconds: float) -> Task | None:
        queue = await self._queue_of(task_id)
        if queue is None:
            return None
        q = self._q(queue)
        # Successes are published while the queue's 'listen' count is above 0: counted
        # before the subscription, so an end after it is either published or read.
        await self._redis.command("HINCRBY", q.meta, "listen", 1)
        try:
            return await wait_finished(
                self._redis, q.done + task_id, lambda: self._get_in(queue, task_id), seconds
            )
        finally:
            with suppress(BackendError):  # a count left over only costs messages
                await self._redis.command("HINCRBY", q.meta, "listen", -1)

    async def cancel(self, task_id: str, status_ttl: TTL) -> bool:
        queue = await self._queue_of(task_id)
        if queue is None or not await self._run(_CANCEL, queue, task_id, status_ttl.milliseconds):
            return False
        await self._expire_pointer(task_id, status_ttl)
        return True

    async def claim(
        self, queue: str, worker: str, visibility_ms: int, status_ttl: TTL, cap: int = 0
    ) -> TaskClaim:
        return claim_of(await self.settle(queue, (), worker, visibility_ms, status_ttl, cap, 1))

    async def complete(self, delivery: Delivery, result: bytes, status_ttl: TTL) -> bool:
        settled = await self.settle(delivery.queue, [(delivery, result)], "", 1, status_ttl)
        return settled.done[0]

    async def complete_and_claim(
        self,
        delivery: Delivery,
        result: bytes,
        worker: str,
        visibility_ms: int,
        status_ttl: TTL,
        cap: int = 0,
    ) -> tuple[bool, TaskClaim]:
        settled = await self.settle(
            delivery.queue, [(delivery, result)], worker, visibility_ms, status_ttl, cap, 1
        )
        return settled.done[0], claim_of(settled)

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
        args: list[EncodedArg] = [
            visibility_ms, status_ttl.milliseconds, worker, LOST_ERROR, count, cap, AGING,
        ]  # fmt: skip
        for delivery, result in completions:
            group = "-" if delivery.project_id is None else delivery.project_id
            args += [delivery.task_id, delivery.attempt, group, result]
        settled = settled_of(queue, await self._run(_CLAIM, queue, *args))
        for (delivery, _), done in zip(completions, settled.done, strict=True):
            if done and task_keys.queue_of(delivery.task_id) is None:  # no step per task else
                await self._expire_pointer(delivery.task_id, status_ttl)
        return settled

    async def fail(
        self, delivery: Delivery, error: str, retry_delay_ms: int, status_ttl: TTL
    ) -> TaskStatus | None:
        args = (delivery.task_id, delivery.attempt, error, retry_delay_ms, status_ttl.milliseconds)
        outcome = STATUS.get(await self._run(_FAIL, delivery.queue, *args))
        if outcome is TaskStatus.DEAD:
            await self._expire_pointer(delivery.task_id, status_ttl)
        return outcome

    async def release(self, delivery: Delivery, pause_ms: int = 0) -> bool:
        args = (delivery.task_id, delivery.attempt, WAKE_TOKENS, pause_ms)
        return bool(await self._run(_RELEASE, delivery.queue, *args))

    async def set_pace(self, queue: str, group: str, pace: Pace | None) -> None:
        spec = "" if pace is None else f"{pace.interval_ms:.3f},{pace.burst}"
        await self._run(_PACE, queue, group, spec)

    async def extend(self, queue: str, deliveries: Sequence[Delivery], visibility_ms: int) -> int:
        args: list[EncodedArg] = [visibility_ms]
        for delivery in deliveries:
            args += [delivery.task_id, delivery.attempt]
        return int(await self._run(_EXTEND, queue, *args))

    async def list_dead(self, queue: str, limit: int, status_ttl: TTL) -> list[Task]:
        found: dict[str, Task] = {}
        cursor: tuple[EncodedArg, EncodedArg] = ("", "")
        while len(found) < limit:  # bounded pages, each starting after the last
            size = min(CHUNK, limit - len(found))
            args = (size, status_ttl.milliseconds, *cursor)
            more, last, burial, *rows = await self._run(_DEAD_LIST, queue, *args)
            for i in range(0, len(rows), 2):
                task_id = rows[i].decode()
                fields = dict(zip(rows[i + 1][::2], rows[i + 1][1::2], strict=True))
                found.setdefault(task_id, task_of(task_id, queue, fields))
            if not more:
                break
            cursor = (last, burial)
        return list(found.values())[:limit]

    async def requeue_dead(self, queue: str, task_ids: Sequence[str] | None) -> int:
        requeued: list[str] = []
        if task_ids is not None:
            for start in range(0, len(task_ids), CHUNK):
                ids = task_ids[start : start + CHUNK]
                _, _, *done = await self._run(_REQUEUE, queue, WAKE_TOKENS, CHUNK, 0, *ids)
                requeued += [task_id.decode() for task_id in done]
        else:
            start, more = 0, 1
            while more:  # bounded pages of the dead set; those that stay are stepped over
                kept, more, *done = await self._run(_REQUEUE, queue, WAKE_TOKENS, CHUNK, start)
                requeued += [task_id.decode() for task_id in done]
                start += kept
        # A requeued task lives again: its pointer, set to expire when it died, stays.
        for task_id in requeued:
            if task_keys.queue_of(task_id) is None:
                await self._redis.command("PERSIST", self._pointer(task_id))
        return len(requeued)

    async def stats(self, queue: str, sample: int) -> QueueStats:
        scheduled, running, dead, ready = (self._q(queue).all[i] for i in (0, 1, 2, 6))
        waiting, ready_count, leased, buried, ids = await self._redis.batch(
            [  # one hash tag: one pipeline to one node
                ("ZCARD", scheduled),
                ("ZCARD", ready),
                ("ZCARD", running),
                ("ZCARD", dead),
                ("ZRANGE", running, 0, sample - 1),
            ]
        )
        sampled = tuple(i.decode() for i in ids) if sample else ()
        pending = int(waiting) + int(ready_count)
        return QueueStats(queue, pending, int(leased), int(buried), sampled)

    async def open_waiter(self, queue: str, max_wait: float) -> RedisTaskWaiter:
        own = self._keys(task_keys.task_queue_part(queue, f"stop.{uuid.uuid4().hex}"))
        return RedisTaskWaiter(self._redis, self._settings, self._q(queue).wake, own, max_wait)
