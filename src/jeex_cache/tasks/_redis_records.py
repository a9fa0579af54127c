"""Replies of the Redis task scripts, read into ``Task`` and ``TaskClaim``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jeex_cache.core.codec import decode
from jeex_cache.tasks.model import Delivery, Settled, Task, TaskClaim, TaskStatus

__all__ = ["NO_PROJECT", "STATUS", "claim_of", "settled_of", "task_of"]

STATUS = {status.value.encode(): status for status in TaskStatus}
NO_PROJECT = b"-"  # the group of tasks without a project


def settled_of(queue: str, reply: list[Any]) -> Settled:
    """The claim script's reply: completions recorded, deliveries leased, or the wait."""
    dones, leases, wait = reply
    deliveries = []
    for i in range(0, len(leases), 8):
        task_id, attempt, name, payload, max_attempts, redeliveries, group, trace = leases[
            i : i + 8
        ]
        deliveries.append(Delivery(
            task_id.decode(), queue, name.decode(), decode(payload), attempt, max_attempts,
            redeliveries, None if group == NO_PROJECT else group.decode(),
            trace.decode() if trace else None,
        ))  # fmt: skip
    return Settled(
        tuple(done == 1 for done in dones), tuple(deliveries),
        None if wait < 0 else wait / 1000,
    )  # fmt: skip


def claim_of(settled: Settled) -> TaskClaim:
    """The first delivery of a settlement, or its wait."""
    if settled.deliveries:
        return TaskClaim(settled.deliveries[0])
    return TaskClaim(None, settled.wait)


def _ms(fields: dict[bytes, bytes], name: bytes) -> datetime | None:
    value = fields.get(name)
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value else None


def task_of(task_id: str, queue: str, fields: dict[bytes, Any]) -> Task:
    """A task record's fields (see ``lua/_task_lib.lua``) as a ``Task``."""
    created = _ms(fields, b"ct")
    assert created is not None
    result = fields.get(b"r")
    error = fields.get(b"e")
    group = fields.get(b"g", NO_PROJECT)
    return Task(
        task_id=task_id,
        queue=queue,
        name=fields[b"n"].decode(),
        payload=decode(fields[b"p"]),
        status=STATUS[fields[b"s"]],
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
        project_id=None if group == NO_PROJECT else group.decode(),
        priority=int(fields.get(b"pr", 0)),
    )
