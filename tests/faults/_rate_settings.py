"""A paced ``WorkerSettings`` for the worker processes of ``test_worker_rates``."""

from __future__ import annotations

from typing import Any

from jeex_cache import TaskContext, WorkerSettings

__all__ = ["BURST", "QUEUE", "RATE", "settings"]

QUEUE = "rated"
RATE = 20.0  # tasks a second, every project of the queue
BURST = 4


async def tick(ctx: TaskContext, payload: Any) -> None:
    return None


settings = WorkerSettings(
    queue=QUEUE, handlers={"tick": tick}, concurrency=4, rate=RATE, rate_burst=BURST
)
