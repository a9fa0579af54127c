"""Handlers for the worker processes of the fault tests (``--handlers`` imports this module).

``record`` notes each execution in a Redis list (``task|pid|attempt``) before it works, so a
test can count every delivery, including those whose worker was killed mid-task.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import redis.asyncio as aioredis

from jeex_cache import TaskContext

__all__ = ["EXECUTIONS", "HANDLERS"]

EXECUTIONS = "test:executions"
_client: aioredis.Redis | None = None


async def record(ctx: TaskContext, payload: Any) -> int:
    global _client
    if _client is None:
        _client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    await _client.rpush(EXECUTIONS, f"{ctx.task_id}|{os.getpid()}|{ctx.attempt}")
    await asyncio.sleep(payload["work"])
    return os.getpid()


HANDLERS = {"record": record}
