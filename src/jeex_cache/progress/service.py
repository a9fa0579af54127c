"""``ProgressService``: validated progress updates, and listeners that miss nothing.

Updates are validated here before a repository sees them, so bad input raises a typed error
and nothing is written. ``follow`` yields an operation's events in order: it subscribes to
live events first, then reads the log from the listener's position, then takes live events,
reading the log again whenever the live feed shows a gap, stays silent for ``check_every``
seconds (which is also how it notices an expired operation) or ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeAlias
from uuid import UUID

from jeex_cache.core.errors import InvalidProgressError
from jeex_cache.core.identifiers import ProjectId, parse_id, scope_of
from jeex_cache.core.ttl import TTL
from jeex_cache.progress.model import Progress, ProgressEvent, ProgressResult
from jeex_cache.progress.repository import ProgressRepository
from jeex_cache.progress.rules import (
    Change,
    ChangeKind,
    event_order,
    parse_event_id,
    scoped_correlation_id,
    validate_message,
    validate_step,
    validate_total_steps,
)
from jeex_cache.progress.stream import Signal

__all__ = ["ProgressService"]

READ_PAGE = 200

Project: TypeAlias = ProjectId | None
"""The project in whose scope a call names its operation (None: the scope of no project)."""


class ProgressService:
    """Progress records of long-running operations, and their event streams."""

    def __init__(self, repository: ProgressRepository, ttl: TTL) -> None:
        self._repository = repository
        self._ttl = ttl

    async def start(
        self,
        correlation_id: UUID | str,
        total_steps: int,
        message: str = "",
        *,
        restart: bool = False,
        project_id: ProjectId | None = None,
    ) -> ProgressResult:
        """Track a new operation at step 0 of ``total_steps``, owned by ``project_id``, in
        whose scope its ID is (an ID scoped already gives its own project)."""
        owner = None if project_id is None else parse_id(project_id)
        cid = scoped_correlation_id(correlation_id, owner)
        validate_total_steps(total_steps)
        validate_message(message)
        if owner is None:
            owner = scope_of(cid)[0]
        return await self._repository.start(
            cid, total_steps, message, self._ttl, bool(restart), owner
        )

    async def assign(self, correlation_id: UUID | str, project_id: ProjectId, ttl: TTL) -> bool:
        """Make ``project_id`` the owner of an operation that has none, even before it starts
        (the owner waits ``ttl`` for the start); False if it has an owner already."""
        owner = parse_id(project_id)
        cid = scoped_correlation_id(correlation_id, owner)
        return await self._repository.assign(cid, owner, ttl)

    async def increment(
        self, correlation_id: UUID | str, message: str = "", project: Project = None
    ) -> ProgressResult:
        """One step further."""
        return await self._apply(correlation_id, Change(ChangeKind.INCREMENT, message), project)

    async def update(
        self, correlation_id: UUID | str, step: int, message: str = "", project: Project = None
    ) -> ProgressResult:
        """To ``step`` (never backwards, never past the total)."""
        change = Change(ChangeKind.SET, message, step=validate_step(step))
        return await self._apply(correlation_id, change, project)

    async def complete(
        self, correlation_id: UUID | str, message: str = "", project: Project = None
    ) -> ProgressResult:
        """Completed: the step becomes the total."""
        return await self._apply(correlation_id, Change(ChangeKind.COMPLETE, message), project)

    async def fail(
        self, correlation_id: UUID | str, error: str, project: Project = None
    ) -> ProgressResult:
        """Failed with ``error`` (also the message shown)."""
        validate_message(error, "error")
        change = Change(ChangeKind.FAIL, error, error=error)
        return await self._apply(correlation_id, change, project)

    async def _apply(
        self, correlation_id: UUID | str, change: Change, project: Project
    ) -> ProgressResult:
        cid = _scoped(correlation_id, project)
        validate_message(change.message)
        return await self._repository.apply(cid, change, self._ttl)

    async def get(self, correlation_id: UUID | str, project: Project = None) -> Progress | None:
        """The current state, or None if unknown or expired (in ``project``'s scope)."""
        return await self._repository.get(_scoped(correlation_id, project))

    def events(
        self,
        correlation_id: UUID | str,
        after: str | None = None,
        *,
        check_every: float = 5.0,
        project: Project = None,
    ) -> AsyncGenerator[ProgressEvent, None]:
        """Every event after ``after`` (from the first kept if None), live, in order.

        Ends after the terminal event, or when the operation is unknown or has expired.
        Arguments are checked now, not on the first iteration.
        """
        cid = _scoped(correlation_id, project)
        position = None if after is None else parse_event_id(after)
        if not check_every > 0:
            raise InvalidProgressError(f"check_every must be positive, got {check_every!r}")
        return self._follow(cid, position, check_every)

    async def _follow(
        self, cid: str, last: str | None, check_every: float
    ) -> AsyncGenerator[ProgressEvent, None]:
        while True:  # one pass per subscription; a lost feed is subscribed to again
            async with self._repository.subscribe(cid) as live:
                while True:  # read the log from ``last``, then take live events
                    state, batch = await self._repository.read(cid, last, READ_PAGE)
                    for event in batch:
                        yield event
                        last = event.id
                        if event.terminal:
                            return
                    if len(batch) == READ_PAGE:
                        continue
                    if state is None or state.finished:
                        return  # unknown, expired, or the listener is past the end
                    while True:
                        item = await live.next(check_every)
                        if isinstance(item, Signal):
                            break  # silence, a gap or a lost feed: read the log again
                        if _already_seen(item, last):
                            continue
                        if item.previous_id != last:
                            break  # an event in between was missed
                        yield item
                        last = item.id
                        if item.terminal:
                            return
                    if live.lost:
                        break


_SCOPED_IDS: dict[tuple[UUID | str, Project], str] = {}
_SCOPED_IDS_SIZE = 1024  # about 200 KB at most
_KEPT_KINDS = frozenset({UUID, str, type(None)})  # exact types: hashable, honest equality


def _scoped(correlation_id: UUID | str, project: Project) -> str:
    """The validated, scoped ID of an operation. The same few operations are updated over
    and over: an ID already resolved is kept (bounded), not parsed and formatted again."""
    key = (correlation_id, project)
    kept = type(correlation_id) in _KEPT_KINDS and type(project) in _KEPT_KINDS
    scoped = _SCOPED_IDS.get(key) if kept else None
    if scoped is None:
        owner = None if project is None else parse_id(project)
        scoped = scoped_correlation_id(correlation_id, owner)
        if kept:
            if len(_SCOPED_IDS) >= _SCOPED_IDS_SIZE:
                _SCOPED_IDS.clear()
            _SCOPED_IDS[key] = scoped
    return scoped


def _already_seen(event: ProgressEvent, last: str | None) -> bool:
    return last is not None and event_order(event.id) <= event_order(last)
