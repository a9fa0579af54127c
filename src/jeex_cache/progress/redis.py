"""``ProgressRepository`` on Redis: one Lua script per update, a capped Stream per operation.

Layout, one hash tag per operation: ``<ns>:progress:{<id>}`` is a hash (``n`` total, ``s``
step, ``st`` status, ``m`` message, ``e`` error, ``t0``/``t`` started/updated ms, ``id`` last
event ID, ``pj`` owning project, '' for none; a hash holding only ``pj`` is an owner waiting
for its operation to start) and ``<ns>:progress:{<id>}:events`` a Stream capped at
``max_events`` entries (``k`` kind, ``s``, ``n``, ``m``, ``e``, ``t``, ``p`` previous event
ID). Each accepted update also PUBLISHes its event on the channel named like the stream, which
the process's one ``ProgressListener`` connection relays to local listeners; the stream is the
record of truth. On a cluster the scripts SPUBLISH (sharded pub/sub: the event stays on the
shard of its record's slot) and a ``ShardedListener`` SSUBSCRIBEs on the owning node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.identifiers import CanonicalId, parse_id
from jeex_cache.core.scripts import LuaScript
from jeex_cache.core.ttl import TTL
from jeex_cache.progress.keys import progress, progress_events
from jeex_cache.progress.listener import Listener
from jeex_cache.progress.model import (
    EventKind,
    Progress,
    ProgressEvent,
    ProgressOutcome,
    ProgressResult,
    ProgressStatus,
)
from jeex_cache.progress.rules import Change
from jeex_cache.progress.stream import Subscription

__all__ = ["RedisProgressRepository"]

_START = LuaScript.load(__name__, "progress_start")
_UPDATE = LuaScript.load(__name__, "progress_update")
_READ = LuaScript.load(__name__, "progress_read")
_ASSIGN = LuaScript.load(__name__, "progress_assign")

_FIELDS = ("n", "s", "st", "m", "e", "t0", "t", "id", "pj")


class RedisProgressRepository:
    """Progress records and event streams in Redis; see the module docstring."""

    def __init__(self, executor: RedisExecutor, listener: Listener, max_events: int):
        self._redis = executor
        self._space = executor.keys
        self._listener = listener
        self._max_events = max_events
        self._publish = "s" if executor.sharded else ""  # SPUBLISH on a cluster

    def _keys(self, cid: str) -> tuple[str, str]:
        return self._space(progress(cid)), self._space(progress_events(cid))

    async def start(
        self,
        correlation_id: str,
        total_steps: int,
        message: str,
        ttl: TTL,
        restart: bool,
        project_id: CanonicalId | None,
    ) -> ProgressResult:
        owner = "" if project_id is None else str(project_id)
        args = (
            total_steps, message, ttl.milliseconds, self._max_events, "1" if restart else "",
            owner, self._publish,
        )  # fmt: skip
        row = await self._redis.script(_START, self._keys(correlation_id), args)
        return _result(correlation_id, row)

    async def assign(self, correlation_id: str, project_id: CanonicalId, ttl: TTL) -> bool:
        record, _ = self._keys(correlation_id)
        args = (str(project_id), ttl.milliseconds)
        return bool(await self._redis.script(_ASSIGN, (record,), args))

    async def apply(self, correlation_id: str, change: Change, ttl: TTL) -> ProgressResult:
        step = "" if change.step is None else change.step
        args = (
            change.kind.value, step, change.message, change.error,
            ttl.milliseconds, self._max_events, self._publish,
        )  # fmt: skip
        row = await self._redis.script(_UPDATE, self._keys(correlation_id), args)
        return _result(correlation_id, row)

    async def get(self, correlation_id: str) -> Progress | None:
        record, _ = self._keys(correlation_id)
        row = await self._redis.command("HMGET", record, *_FIELDS)
        return _progress(correlation_id, row)

    async def read(
        self, correlation_id: str, after: str | None, limit: int
    ) -> tuple[Progress | None, list[ProgressEvent]]:
        start = "-" if after is None else f"({after}"
        row, entries = await self._redis.script(_READ, self._keys(correlation_id), (start, limit))
        events = [_stream_event(correlation_id, entry) for entry in entries]
        return _progress(correlation_id, row), events

    @asynccontextmanager
    async def subscribe(self, correlation_id: str) -> AsyncIterator[Subscription]:
        _, channel = self._keys(correlation_id)

        def decode(payload: bytes) -> ProgressEvent:
            return _published_event(correlation_id, payload)

        async with self._listener.subscribe(channel, decode) as subscription:
            yield subscription


def _result(cid: str, row: Sequence[Any]) -> ProgressResult:
    outcome = ProgressOutcome(row[0].decode())
    progress = _progress(cid, row[1:])
    if outcome is ProgressOutcome.APPLIED and progress is not None:
        return ProgressResult(outcome, progress, progress.last_event_id)
    return ProgressResult(outcome, progress)


def _progress(cid: str, row: Sequence[bytes | None]) -> Progress | None:
    if not row or row[0] is None:
        return None
    total, step, status, message, error, started, updated, last_id, owner = (
        b"" if value is None else value for value in row
    )
    return Progress(
        correlation_id=cid,
        total_steps=int(total),
        current_step=int(step),
        message=message.decode(),
        status=ProgressStatus(status.decode()),
        started_at=_from_ms(started),
        updated_at=_from_ms(updated),
        error=error.decode() or None,
        last_event_id=last_id.decode() or None,
        project_id=parse_id(owner.decode()) if owner else None,
    )


def _stream_event(cid: str, entry: Sequence[Any]) -> ProgressEvent:
    raw_id, flat = entry
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    return ProgressEvent(
        id=raw_id.decode(),
        correlation_id=cid,
        kind=EventKind(fields[b"k"].decode()),
        current_step=int(fields[b"s"]),
        total_steps=int(fields[b"n"]),
        message=fields[b"m"].decode(),
        error=fields[b"e"].decode() or None,
        timestamp=_from_ms(fields[b"t"]),
        previous_id=fields[b"p"].decode() or None,
    )


def _published_event(cid: str, payload: bytes) -> ProgressEvent:
    event_id, previous, kind, step, total, message, error, at = orjson.loads(payload)
    return ProgressEvent(
        id=event_id,
        correlation_id=cid,
        kind=EventKind(kind),
        current_step=int(step),
        total_steps=int(total),
        message=message,
        error=error or None,
        timestamp=_from_ms(at),
        previous_id=previous or None,
    )


def _from_ms(value: bytes | str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
