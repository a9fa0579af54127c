"""Task keys: ``task:{<id>}`` a task's record; ``queue:{<q>}`` a queue and
``queue:{<q>}:<part>`` its other structures, in the queue's hash tag."""

from __future__ import annotations

from jeex_cache.core.identifiers import validate_name, validate_token
from jeex_cache.core.keys import CacheKey, key

__all__ = ["task", "task_queue", "task_queue_part"]


def task(task_id: str) -> CacheKey:
    """A background task's status record."""
    return key("task", validate_token(task_id, "task ID"))


def task_queue(queue: str) -> CacheKey:
    """A background task queue."""
    return key("queue", validate_name(queue, "queue name", max_length=64))


def task_queue_part(queue: str, part: str) -> CacheKey:
    """A queue's other structures (``running``, ``dead``, ``wake``), in its hash tag."""
    tag = validate_name(queue, "queue name", max_length=64)
    return key("queue", tag, validate_name(part, "queue part"))
