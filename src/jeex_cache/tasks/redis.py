"""``TaskQueueRepository`` on Redis: every operation is one Lua script (or one command).

Keys (namespace first): ``task:{<id>}`` a task's status record (hash); per queue,
``queue:{<q>}`` its tasks by due time (ms, zset; delayed tasks and retries included),
``queue:{<q>}:running`` leased deliveries by visibility deadline, ``queue:{<q>}:dead`` its
dead-letter set by burial time, and ``queue:{<q>}:wake``, the wake-up list idle workers block
on (``BLPOP``, on a connection of their own). Scripts read the clock with ``TIME``.
"""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from jeex_cache.config import Settings
from jeex_cache.core.codec import decode
from jeex_cache.core.connect import create_client
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.keys import KeySpace
from jeex_cache.core.scripts import EncodedArg, LuaScript
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks import keys as task_keys
from jeex_cache.tasks.model import Delivery, QueueStats, Task, TaskClaim, TaskStatus
from jeex_cache.tasks.service import LOST_ERROR

__all__ = ["RedisTaskQueueRepository"]

_ENQUEUE = LuaScript.load(__name__, "task_enqueue", durable=True)
_CLAIM = LuaScript.load(__name__, "task_claim")
_FAIL = LuaScript.load(__name__, "task_fail")
_RELEASE = LuaScript.load(__name__, "task_release")
_EXTEND = LuaScript.load(__name__, "task_extend")
_CANCEL = LuaScript.load(__name__, "task_cancel")
_DEAD_LIST = LuaScript.load(__name__, "task_dead_list")
_REQUEUE = LuaScript.load(__name__, "task_requeue")
_INTERRUPT = LuaScript.load(__name__, "task_interrupt")

WAKE_TOKENS = 64  # most wake-up tokens a queue keeps while every worker is busy
CHUNK = 500  # the most tasks one script call looks at, so that no call holds the server long
# Scripts build a task's record key from an ID held in a queue: the text around the ID,
# taken from ``tasks.keys`` so that the key format stays in one place.
_RECORD_HEAD, _, _RECORD_TAIL = task_keys.task("ID").value.partition("ID")
_STATUS = {status.value.encode(): status for status in TaskStatus}


class _QueueKeys:
    """The namespaced keys of one queue."""

    __slots__ = ("dead", "pending", "running", "wake")

    def __init__(self, keys: KeySpace, queue: str) -> None:
        self.pending = keys(task_keys.task_queue(queue))
        self.running = keys(task_keys.task_queue_part(queue, "running"))
        self.dead = keys(task_keys.task_queue_part(queue, "dead"))
        self.wake = keys(task_keys.task_queue_part(queue, "wake"))


class RedisTaskQueueRepository:
    """Task queues and status records in Redis; see the module docstring for the keys."""

    def __init__(self, executor: RedisExecutor, settings: Settings) -> None:
        self._redis = executor
        self._settings = settings
        self._keys = executor.keys
        self._head = executor.keys.prefixed(_RECORD_HEAD)
        self._queues: dict[str, _QueueKeys] = {}

    def _q(self, queue: str) -> _QueueKeys:
        keys = self._queues.get(queue)
        if keys is None:
            if len(self._queues) >= 1_000:
                self._queues.clear()
            keys = self._queues[queue] = _QueueKeys(self._keys, queue)
        return keys

    def _record(self, task_id: str) -> str:
        return self._head + task_id + _RECORD_TAIL

    async def enqueue(
        self, task_id: str, queue: str, name: str, payload: bytes, max_attempts: int, delay_ms: int
    ) -> bool:
        q = self._q(queue)
        keys = (self._record(task_id), q.pending, q.wake)
        args = (task_id, queue, name, payload, max_attempts, delay_ms, WAKE_TOKENS)
        return bool(await self._redis.script(_ENQUEUE, keys, args))

    async def get(self, task_id: str) -> Task | None:
        fields = await self._redis.command("HGETALL", self._record(task_id))
        return _task(task_id, fields) if fields else None

    async def cancel(self, task_id: str, status_ttl: TTL) -> bool:
        # Two single-slot steps (the record and its queue hash to different slots): should
        # the second never run, the next claim to reach the entry drops it.
        keys = (self._record(task_id),)
        queue = await self._redis.script(_CANCEL, keys, (status_ttl.milliseconds,))
        if not queue:
            return False
        await self._redis.command("ZREM", self._q(queue.decode()).pending, task_id)
        return True

    async def claim(
        self, queue: str, worker: str, visibility_ms: int, status_ttl: TTL
    ) -> TaskClaim:
        reply = await self._claim_script(queue, worker, visibility_ms, status_ttl, None, b"")
        return _claim(queue, reply)

    async def complete(self, delivery: Delivery, result: bytes, status_ttl: TTL) -> bool:
        reply = await self._claim_script(delivery.queue, "", 0, status_ttl, delivery, result, False)
        return bool(reply[0] == 1)

    async def complete_and_claim(
        self, delivery: Delivery, result: bytes, worker: str, visibility_ms: int, status_ttl: TTL
    ) -> tuple[bool, TaskClaim]:
        queue = delivery.queue
        reply = await self._claim_script(queue, worker, visibility_ms, status_ttl, delivery, result)
        return reply[0] == 1, _claim(queue, reply)

    def _claim_script(
        self,
        queue: str,
        worker: str,
        visibility_ms: int,
        status_ttl: TTL,
        completed: Delivery | None,
        result: bytes,
        take: bool = True,
    ) -> Coroutine[Any, Any, Any]:
        q = self._q(queue)
        keys = (q.pending, q.running, q.dead, q.wake)
        args: list[EncodedArg] = [
            self._head, _RECORD_TAIL, visibility_ms, status_ttl.milliseconds, worker, LOST_ERROR,
            "1" if take else "0",
        ]  # fmt: skip
        if completed is not None:
            args += [completed.task_id, completed.attempt, result]
        return self._redis.script(_CLAIM, keys, args)

    def _settle_keys(self, delivery: Delivery) -> tuple[str, str, str, str]:
        q = self._q(delivery.queue)
        return self._record(delivery.task_id), q.pending, q.running, q.dead

    async def fail(
        self, delivery: Delivery, error: str, retry_delay_ms: int, status_ttl: TTL
    ) -> TaskStatus | None:
        args = (delivery.task_id, delivery.attempt, error, retry_delay_ms, status_ttl.milliseconds)
        outcome = await self._redis.script(_FAIL, self._settle_keys(delivery), args)
        return _STATUS.get(outcome)

    async def release(self, delivery: Delivery) -> bool:
        q = self._q(delivery.queue)
        keys = (self._record(delivery.task_id), q.pending, q.running, q.wake)
        args = (delivery.task_id, delivery.attempt, WAKE_TOKENS)
        return bool(await self._redis.script(_RELEASE, keys, args))

    async def extend(self, queue: str, deliveries: Sequence[Delivery], visibility_ms: int) -> int:
        args: list[EncodedArg] = [self._head, _RECORD_TAIL, visibility_ms]
        for delivery in deliveries:
            args += [delivery.task_id, delivery.attempt]
        return int(await self._redis.script(_EXTEND, (self._q(queue).running,), args))

    async def list_dead(self, queue: str, limit: int, status_ttl: TTL) -> list[Task]:
        keys = (self._q(queue).dead,)
        found: dict[str, Task] = {}
        cursor: tuple[EncodedArg, EncodedArg] = ("", "")
        while len(found) < limit:  # bounded pages, each starting after the last
            size = min(CHUNK, limit - len(found))
            args = (self._head, _RECORD_TAIL, size, status_ttl.milliseconds, *cursor)
            more, last, burial, *rows = await self._redis.script(_DEAD_LIST, keys, args)
            for i in range(0, len(rows), 2):
                fields = dict(zip(rows[i + 1][::2], rows[i + 1][1::2], strict=True))
                found.setdefault(rows[i].decode(), _task(rows[i].decode(), fields))
            if not more:
                break
            cursor = (last, burial)
        return list(found.values())[:limit]

    async def requeue_dead(self, queue: str, task_ids: Sequence[str] | None) -> int:
        q = self._q(queue)
        keys = (q.dead, q.pending, q.wake)
        head: list[EncodedArg] = [self._head, _RECORD_TAIL, WAKE_TOKENS, CHUNK]
        requeued = 0
        if task_ids is not None:
            for start in range(0, len(task_ids), CHUNK):
                ids = task_ids[start : start + CHUNK]
                done, _, _ = await self._redis.script(_REQUEUE, keys, [*head, 0, *ids])
                requeued += done
            return requeued
        start, more = 0, 1
        while more:  # bounded pages of the dead set; those that stay in it are stepped over
            done, kept, more = await self._redis.script(_REQUEUE, keys, [*head, start])
            requeued += done
            start += kept
        return requeued

    async def stats(self, queue: str, sample: int) -> QueueStats:
        q = self._q(queue)  # one hash tag: one pipeline to one node
        pending, running, dead, ids = await self._redis.batch(
            [
                ("ZCARD", q.pending),
                ("ZCARD", q.running),
                ("ZCARD", q.dead),
                ("ZRANGE", q.running, 0, sample - 1),
            ]
        )
        sampled = tuple(i.decode() for i in ids) if sample else ()
        return QueueStats(queue, int(pending), int(running), int(dead), sampled)

    async def open_waiter(self, queue: str, max_wait: float) -> RedisTaskWaiter:
        own = self._keys(task_keys.task_queue_part(queue, f"stop.{uuid.uuid4().hex}"))
        return RedisTaskWaiter(self._redis, self._settings, self._q(queue).wake, own, max_wait)


class RedisTaskWaiter:
    """Blocks on a queue's wake-up list with ``BLPOP`` on a connection of its own.

    A blocked command holds its connection for the whole wait: taken from the shared pool,
    it would starve other callers behind the executor's gate, and the pool's socket timeout
    (a stalled server's bound) is shorter than the wait. So each waiter has a one-connection
    client whose socket timeout covers ``max_wait``, behind an executor of its own.

    ``interrupt`` pushes to a second key the waiter also blocks on, through the shared
    connections: cancelling a blocked read is not reliable (redis-py may swallow the
    cancellation while it reconnects), a message through Redis is.
    """

    def __init__(
        self,
        shared: RedisExecutor,
        settings: Settings,
        wake_key: str,
        own_key: str,
        max_wait: float,
    ) -> None:
        self._shared = shared
        self._own_key = own_key
        self._client = create_client(
            settings,
            max_connections=1,
            socket_timeout=max_wait + settings.redis_socket_timeout + 1.0,
        )
        self._redis = RedisExecutor(
            self._client,
            settings.cache_namespace,
            max_in_flight=1,
            wait_timeout=settings.redis_pool_timeout,
            breaker=shared.breaker,  # one view of the server's health per backend
        )
        self._key = wake_key
        self._max_wait = max_wait

    async def wait(self, seconds: float) -> bool:
        blocking = min(seconds, self._max_wait)
        if blocking < 0.001:  # BLPOP's 0 would block for ever
            return False
        reply = await self._redis.command("BLPOP", self._key, self._own_key, f"{blocking:.3f}")
        return reply is not None

    async def interrupt(self) -> None:
        expiry_ms = round((self._max_wait + 60) * 1000)
        await self._shared.script(_INTERRUPT, (self._own_key,), (expiry_ms,))

    async def close(self) -> None:
        await self._client.aclose()


def _claim(queue: str, reply: list[Any]) -> TaskClaim:
    if reply[1]:
        _, task_id, attempt, name, payload, max_attempts, redeliveries = reply
        return TaskClaim(Delivery(
            task_id.decode(), queue, name.decode(), decode(payload), attempt, max_attempts,
            redeliveries,
        ))  # fmt: skip
    wait = reply[2]
    return TaskClaim(None, None if wait < 0 else wait / 1000)


def _ms(fields: dict[bytes, bytes], name: bytes) -> datetime | None:
    value = fields.get(name)
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value else None


def _task(task_id: str, fields: dict[bytes, Any]) -> Task:
    created = _ms(fields, b"ct")
    assert created is not None
    result = fields.get(b"r")
    error = fields.get(b"e")
    return Task(
        task_id=task_id,
        queue=fields[b"q"].decode(),
        name=fields[b"n"].decode(),
        payload=decode(fields[b"p"]),
        status=_STATUS[fields[b"s"]],
        attempts=int(fields[b"a"]),
        max_attempts=int(fields[b"m"]),
        created_at=created,
        updated_at=_ms(fields, b"ut") or created,
        scheduled_at=_ms(fields, b"due") or created,
        started_at=_ms(fields, b"st"),
        finished_at=_ms(fields, b"ft"),
        result=None if result is None else decode(result),
        error=None if error is None else error.decode(),
        redeliveries=int(fields.get(b"rd", 0)),
    )
