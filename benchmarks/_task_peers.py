"""The task queues compared: jeex-cache, raw redis-py doing the same round trips, arq, SAQ,
streaQ and taskiq-redis.

Each library gives an enqueuer (used by the runner's process) and a burst-mode worker (run in
``benchmarks._task_worker`` processes). Every handler is the same no-op that only counts.
The peers come from ``benchmarks/requirements-tasks.txt``; without them those rows are skipped.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from jeex_cache import CacheManager, Settings, TaskContext, Worker

__all__ = ["LIBRARIES", "QUEUE", "Enqueuer", "available", "open_enqueuer", "run_worker"]

QUEUE = "bench"
LIBRARIES = ("jeex-cache", "redis-py", "arq", "saq", "streaq", "taskiq-redis")
_MODULES = {"arq": "arq", "saq": "saq", "streaq": "streaq", "taskiq-redis": "taskiq_redis"}
_RAW = "bench:{raw}:"  # the raw queue's keys, apart from everyone else's

# The raw baseline's claim: mark the previous task done (if any), take the oldest task and
# mark it running, in one round trip, as jeex-cache's busy worker does.
_RAW_CLAIM = """
if ARGV[2] then redis.call('HSET', ARGV[1] .. ARGV[2], 's', 'succeeded') end
local id = redis.call('RPOP', KEYS[1])
if not id then return false end
redis.call('HSET', ARGV[1] .. id, 's', 'running')
return id
"""


class Counter:
    """How many tasks the no-op handlers of this process ran."""

    done = 0


async def _noop_jeex(ctx: TaskContext, payload: Any) -> None:
    Counter.done += 1


async def noop(ctx: Any) -> None:
    """arq's and SAQ's handler (both pass a context mapping)."""
    Counter.done += 1


@dataclass(slots=True)
class Enqueuer:
    """``enqueue()`` queues one no-op task; ``close()`` releases the connections."""

    enqueue: Callable[[], Awaitable[Any]]
    close: Callable[[], Awaitable[Any]]


def available(library: str) -> bool:
    """The peers are optional (the ``benchmarks/requirements-tasks.txt`` peers)."""
    module = _MODULES.get(library)
    return module is None or importlib.util.find_spec(module) is not None


def _settings(url: str, connections: int) -> Settings:
    return Settings(redis_url=url, redis_max_connections=connections, redis_pool_timeout=30)


async def open_enqueuer(library: str, url: str, connections: int) -> Enqueuer:
    """An enqueuer for ``library`` with a pool of ``connections``."""
    if library == "jeex-cache":
        cache = CacheManager(_settings(url, connections))
        await cache.initialize()
        return Enqueuer(lambda: cache.enqueue_task(QUEUE, "noop"), cache.close)
    if library == "redis-py":
        client = aioredis.Redis.from_url(url, max_connections=connections)

        async def enqueue_raw() -> None:
            task_id = uuid.uuid4().hex
            async with client.pipeline(transaction=True) as pipe:  # MULTI/EXEC: one round trip
                pipe.hset(
                    f"{_RAW}task:{task_id}", mapping={"s": "queued", "n": "noop", "p": "null"}
                )
                pipe.lpush(f"{_RAW}queue", task_id)
                await pipe.execute()

        return Enqueuer(enqueue_raw, client.aclose)
    if library == "arq":
        from arq import create_pool
        from arq.connections import RedisSettings

        pool = await create_pool(RedisSettings.from_dsn(url), default_queue_name=QUEUE)
        return Enqueuer(lambda: pool.enqueue_job("noop"), pool.aclose)
    if library == "streaq":
        from benchmarks._task_peers_more import streaq_enqueuer

        return await streaq_enqueuer(url, connections)
    if library == "taskiq-redis":
        from benchmarks._task_peers_more import taskiq_enqueuer

        return await taskiq_enqueuer(url, connections)
    from saq import Queue

    queue = Queue.from_url(url, name=QUEUE)
    await queue.connect()
    return Enqueuer(lambda: queue.enqueue("noop"), queue.disconnect)


async def run_worker(
    library: str, url: str, concurrency: int, ready: Callable[[], Awaitable[None]]
) -> int:
    """Connect, await ``ready()`` (the runner's go), run until the queue is empty; the count."""
    if library == "jeex-cache":
        async with CacheManager(_settings(url, concurrency + 4)) as cache:
            worker = Worker(cache, QUEUE, {"noop": _noop_jeex}, concurrency=concurrency, burst=True)
            await cache.health_check()  # connect before the clock starts
            await ready()
            await worker.run()
    elif library == "redis-py":
        await _raw_worker(url, concurrency, ready)
    elif library in ("streaq", "taskiq-redis"):
        from benchmarks import _task_peers_more

        run = (
            _task_peers_more.streaq_worker
            if library == "streaq"
            else _task_peers_more.taskiq_worker
        )
        return await run(url, concurrency, ready)
    elif library == "arq":
        from arq import Worker as ArqWorker
        from arq import create_pool
        from arq.connections import RedisSettings

        pool = await create_pool(RedisSettings.from_dsn(url), default_queue_name=QUEUE)
        arq_worker = ArqWorker(
            functions=[noop],
            queue_name=QUEUE,
            redis_pool=pool,
            burst=True,
            max_jobs=concurrency,
            handle_signals=False,
        )
        await ready()
        await arq_worker.async_run()
        await arq_worker.close()
    else:
        from saq import Queue
        from saq import Worker as SaqWorker

        queue = Queue.from_url(url, name=QUEUE)
        await queue.connect()
        saq_worker = SaqWorker(
            queue, functions=[noop], concurrency=concurrency, burst=True, dequeue_timeout=0.01
        )
        await ready()
        await saq_worker.start()
        await queue.disconnect()
    return Counter.done


async def _raw_worker(url: str, concurrency: int, ready: Callable[[], Awaitable[None]]) -> None:
    """Acknowledge the last task and claim the next (one EVALSHA) until the queue is empty."""
    import asyncio

    client = aioredis.Redis.from_url(url, max_connections=concurrency + 1)
    claim = client.register_script(_RAW_CLAIM)
    await client.ping()
    await ready()

    async def loop() -> None:
        args = [f"{_RAW}task:"]
        while True:
            task_id = await claim(keys=[f"{_RAW}queue"], args=args)
            if task_id is None:
                return
            Counter.done += 1
            args = [f"{_RAW}task:", task_id]

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    await client.aclose()
