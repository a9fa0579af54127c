"""streaQ and taskiq-redis in the task benchmark (see ``_task_peers``): an enqueuer and a
burst worker each, with the same no-op handler that only counts.

streaQ has a burst mode of its own. taskiq has none: its worker (a ``Receiver``) stops once
the queue's list is empty and its count has not moved for 50 ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks._task_peers import Enqueuer

__all__ = ["streaq_enqueuer", "streaq_worker", "taskiq_enqueuer", "taskiq_worker"]

QUEUE = "bench"


class Counter:
    """How many tasks this process's handlers ran."""

    done = 0


def _streaq(url: str, concurrency: int) -> tuple[Any, Any]:
    from streaq import Worker

    worker = Worker(redis_url=url, concurrency=concurrency, queue_name=QUEUE, handle_signals=False)

    @worker.task
    async def noop() -> None:
        Counter.done += 1

    return worker, noop


async def streaq_enqueuer(url: str, connections: int) -> Enqueuer:
    from benchmarks._task_peers import Enqueuer

    worker, noop = _streaq(url, connections)
    await worker.__aenter__()
    return Enqueuer(lambda: noop.enqueue(), lambda: worker.__aexit__(None, None, None))


async def streaq_worker(url: str, concurrency: int, ready: Callable[[], Awaitable[None]]) -> int:
    worker, _ = _streaq(url, concurrency)
    worker.burst = True
    await ready()
    await worker.run_async()
    return int(Counter.done)


def _taskiq(url: str, connections: int) -> tuple[Any, Any]:
    from taskiq_redis import ListQueueBroker

    broker = ListQueueBroker(url, queue_name=QUEUE, max_connection_pool_size=connections)

    @broker.task(task_name="noop")
    async def noop() -> None:
        Counter.done += 1

    return broker, noop


async def taskiq_enqueuer(url: str, connections: int) -> Enqueuer:
    from benchmarks._task_peers import Enqueuer

    broker, noop = _taskiq(url, connections)
    await broker.startup()
    return Enqueuer(lambda: noop.kiq(), broker.shutdown)


async def taskiq_worker(url: str, concurrency: int, ready: Callable[[], Awaitable[None]]) -> int:
    import redis.asyncio as aioredis
    from taskiq.receiver import Receiver

    broker, _ = _taskiq(url, concurrency + 2)
    broker.is_worker_process = True
    receiver = Receiver(broker, max_async_tasks=concurrency, max_prefetch=concurrency)
    finished = asyncio.Event()
    client = aioredis.Redis.from_url(url)
    await client.ping()
    await broker.startup()
    await ready()

    async def watch() -> None:  # burst: the list is empty and nothing ran for 50 ms
        last = -1
        while True:
            await asyncio.sleep(0.05)
            if await client.llen(QUEUE) == 0 and Counter.done == last:
                finished.set()
                return
            last = Counter.done

    watcher = asyncio.create_task(watch())
    receiver.run_startup = False
    await receiver.listen(finished)
    await watcher
    await broker.shutdown()
    await client.aclose()
    return Counter.done
