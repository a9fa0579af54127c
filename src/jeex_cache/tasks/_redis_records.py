"""Replies of the Redis task scripts, read into ``Task`` and ``TaskClaim``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jeex_cache.core.codec import decode
from jeex_cache.tasks.model import Settled, Task, TaskClaim, TaskStatus, assemble_delivery

__all__ = ["NO_PROJECT", "STATUS", "claim_of", "head", "settled_of", "task_of"]

STATUS = {status.value.encode(): status for status in TaskStatus}
NO_PROJECT = b"-"  # the group of tasks without a project


def head(max_attempts: int, name: str, payload: bytes, trace: str | None) -> bytes:
    """A task's fixed part, one value of its record: the scripts hand it back unread."""
    context = (trace or "").encode()
    return b"%d|%s|%d|%s%s" % (max_attempts, name.encode(), len(context), context, payload)


def _head_of(value: bytes) -> tuple[int, str, Any, str | None]:
    """(max attempts, name, payload, trace context) of a head."""
    max_attempts, name, length, rest = value.split(b"|", 3)
    if length == b"0":  # no trace context: the rest is the payload
        return int(max_attempts), name.decode(), decode(rest), None
    cut = int(length)
    return int(max_attempts), name.decode(), decode(rest[cut:]), rest[:cut].decode() or None


def settled_of(queue: str, reply: list[Any]) -> Settled:
    """The claim script's reply: completions recorded, deliveries leased, or the wait."""
    dones, leases, wait = reply
    deliveries = []
    for i in range(0, len(leases), 5):
        task_id, attempt, fixed, redeliveries, group = leases[i : i + 5]
        max_attempts, name, payload, trace = _head_of(fixed)
        deliveries.append(assemble_delivery(
            task_id.decode(), queue, name, payload, attempt, max_attempts, redeliveries,
            None if group == NO_PROJECT else group.decode(), trace,
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
    """A task record's fields (see ``lua/_task_lib.lua``; the head as ``h``) as a ``Task``."""
    created = _ms(fields, b"ct")
    assert created is not None
    max_attempts, name, payload, _ = _head_of(fields[b"h"])
    status = STATUS[fields[b"s"]]
    result = fields.get(b"r")
    error = None if status is TaskStatus.SUCCEEDED else fields.get(b"e")
    group = fields.get(b"g", NO_PROJECT)
    times = (_ms(fields, b"ut"), _ms(fields, b"st"), _ms(fields, b"ft"))
    return Task(
        task_id=task_id,
        queue=queue,
        name=name,
        payload=payload,
        status=status,
        attempts=int(fields.get(b"a", 0)),
        max_attempts=max_attempts,
        created_at=created,
        updated_at=max((at for at in times if at is not None), default=created),
        scheduled_at=_ms(fields, b"due") or created,
        started_at=_ms(fields, b"st"),
        finished_at=_ms(fields, b"ft"),
        result=None if result is None else decode(result),
        error=None if error is None else error.decode(),
        redeliveries=int(fields.get(b"rd", 0)),
        project_id=None if group == NO_PROJECT else group.decode(),
        priority=int(fields.get(b"pr", 0)),
    )
