"""``UserSessionRepository`` in process memory: the embedded default backend.

Same contract as the Redis backend (the contract suite runs over both); time comes from the
injected ``Clock``. Each operation is synchronous code inside a coroutine, hence atomic on the
event loop. Expired sessions are dropped when met, and by a sweep whose interval doubles with
the number of records, so memory stays bounded by live sessions at O(1) amortised cost.

Each session is charged to the backend's ``MemoryBudget`` at what it costs (see the
constants, measured with tracemalloc); a live session is never evicted to make room: a
creation, a data update or a grant that does not fit is refused with ``MemoryLimitError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from jeex_cache.core.clock import Clock
from jeex_cache.core.codec import decode
from jeex_cache.core.errors import PayloadTooLargeError
from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.memory_budget import MemoryBudget, held_bytes
from jeex_cache.core.ttl import TTL
from jeex_cache.sessions.model import UserSession
from jeex_cache.sessions.repository import user_data_size

__all__ = ["MemoryUserSessionRepository"]

_MIN_SWEEP = 1_024
_NEVER = 2**63
# What a session costs in memory (tracemalloc, CPython 3.11, rounded up): its record, dates
# and table slot; its user's index when it is the user's first; each project granted; each
# item of user data beside the key's and value's own lengths.
SESSION_BYTES = 620
USER_INDEX_BYTES = 300
PROJECT_BYTES = 150
DATA_ITEM_BYTES = 110


@dataclass(slots=True)
class _Record:
    user_id: CanonicalId
    data: dict[str, bytes]
    projects: set[CanonicalId]
    created_ms: int
    last_ms: int
    idle_ms: int
    expires_ms: int  # sliding, never past absolute_ms
    absolute_ms: int
    size: int = 0  # the bytes charged to the budget


class MemoryUserSessionRepository:
    """Sessions in dictionaries: records by digest, and each user's digests by age."""

    def __init__(self, clock: Clock, budget: MemoryBudget | None = None) -> None:
        self._clock = clock
        self._budget = budget = MemoryBudget() if budget is None else budget
        budget.on_reclaim("sessions", lambda: self._reclaim(self._now_ms()))
        self._earliest_expiry = _NEVER  # no record expires before (a lower bound)
        self._records: dict[str, _Record] = {}
        self._by_user: dict[
            CanonicalId, dict[str, tuple[int, int]]
        ] = {}  # digest -> (created, seq)
        self._sequence = itertools.count()
        self._sweep_at = _MIN_SWEEP

    def _now_ms(self) -> int:
        return int(self._clock.time() * 1000)

    def _live(self, digest: str, now_ms: int) -> _Record | None:
        record = self._records.get(digest)
        if record is not None and now_ms >= record.expires_ms:
            self._drop(digest)
            return None
        return record

    def _drop(self, digest: str) -> _Record | None:
        record = self._records.pop(digest, None)
        if record is not None:
            self._budget.release("sessions", record.size)
            index = self._by_user.get(record.user_id)
            if index is not None:
                index.pop(digest, None)
                if not index:
                    del self._by_user[record.user_id]
        return record

    async def create(
        self,
        digest: str,
        user_id: CanonicalId,
        data: Mapping[str, bytes],
        projects: frozenset[CanonicalId],
        idle_ttl: TTL,
        absolute_ttl: TTL,
        max_per_user: int,
    ) -> tuple[UserSession, list[str]] | None:
        now = self._now_ms()
        self._sweep_if_due(now)
        if self._live(digest, now) is not None:
            return None
        absolute = now + absolute_ttl.milliseconds
        kept = {key: held_bytes(value) for key, value in data.items()}
        size = SESSION_BYTES + 49 + len(digest) + _data_bytes(kept) + PROJECT_BYTES * len(projects)
        if user_id not in self._by_user:
            size += USER_INDEX_BYTES
        if not self._budget.fits(size):
            self._reclaim(now)
        self._budget.charge("sessions", size)  # never evicts a session: refuses instead
        record = _Record(
            user_id=user_id,
            data=kept,
            projects=set(projects),
            created_ms=now,
            last_ms=now,
            idle_ms=idle_ttl.milliseconds,
            expires_ms=min(now + idle_ttl.milliseconds, absolute),
            absolute_ms=absolute,
            size=size,
        )
        self._earliest_expiry = min(self._earliest_expiry, record.expires_ms)
        self._records[digest] = record
        self._by_user.setdefault(user_id, {})[digest] = (now, next(self._sequence))
        evicted = self._evict(user_id, max_per_user, digest, now)
        return _session(digest, record), evicted

    def _evict(self, user_id: CanonicalId, max_per_user: int, keep: str, now_ms: int) -> list[str]:
        index = self._by_user.get(user_id, {})
        live = [d for d in sorted(index, key=index.__getitem__) if self._live(d, now_ms)]
        excess = len(live) - max_per_user
        evicted = [d for d in live if d != keep][: max(excess, 0)]
        for digest in evicted:
            self._drop(digest)
        return evicted

    async def touch(self, digest: str, extend_to: TTL | None = None) -> UserSession | None:
        now = self._now_ms()
        record = self._live(digest, now)
        if record is None:
            return None
        self._refresh(record, now, extend_to)
        return _session(digest, record)

    async def touch_for_project(
        self, digest: str, project_id: CanonicalId
    ) -> tuple[CanonicalId, bool] | None:
        now = self._now_ms()
        record = self._live(digest, now)
        if record is None:
            return None
        self._refresh(record, now, None)
        return record.user_id, project_id in record.projects

    @staticmethod
    def _refresh(record: _Record, now_ms: int, extend_to: TTL | None) -> None:
        expires = max(record.expires_ms, now_ms + record.idle_ms)
        if extend_to is not None:
            expires = max(expires, now_ms + extend_to.milliseconds)
        record.expires_ms = min(expires, record.absolute_ms)
        record.last_ms = now_ms

    async def set_project_access(
        self, digest: str, project_id: CanonicalId, allowed: bool
    ) -> tuple[CanonicalId, bool] | None:
        record = self._live(digest, self._now_ms())
        if record is None:
            return None
        changed = (project_id in record.projects) is not allowed
        if changed and allowed:
            self._resize(record, record.size + PROJECT_BYTES)
            record.projects.add(project_id)
        elif changed:
            record.projects.discard(project_id)
            self._resize(record, record.size - PROJECT_BYTES)
        return record.user_id, changed

    async def update_data(self, digest: str, data: Mapping[str, bytes], max_bytes: int) -> bool:
        record = self._live(digest, self._now_ms())
        if record is None:
            return False
        merged = {**record.data, **data}
        size = user_data_size(merged)
        if size > max_bytes:
            raise PayloadTooLargeError(
                f"user data would be {size} bytes, over the limit of {max_bytes} "
                "(JEEX_CACHE_SESSION_MAX_DATA_BYTES)"
            )
        kept = {key: held_bytes(value) for key, value in merged.items()}
        self._resize(record, record.size + _data_bytes(kept) - _data_bytes(record.data))
        record.data = kept
        return True

    def _resize(self, record: _Record, size: int) -> None:
        """Charge (or release) what ``record`` now costs; a growth that does not fit raises."""
        self._budget.resize("sessions", record.size, size)
        record.size = size

    async def delete(self, digest: str) -> CanonicalId | None:
        if self._live(digest, self._now_ms()) is None:
            return None
        record = self._drop(digest)
        return None if record is None else record.user_id

    async def rename(self, digest: str, new_digest: str) -> UserSession | None:
        now = self._now_ms()
        record = self._live(digest, now)
        if record is None or self._live(new_digest, now) is not None:
            return None
        index = self._by_user[record.user_id]
        age = index[digest]
        self._drop(digest)
        self._budget.force("sessions", record.size)  # the same record, under its new digest
        record.last_ms = now
        self._records[new_digest] = record
        self._by_user.setdefault(record.user_id, {})[new_digest] = age
        return _session(new_digest, record)

    async def list_for_user(self, user_id: CanonicalId) -> list[UserSession]:
        now = self._now_ms()
        index = self._by_user.get(user_id, {})
        sessions = []
        for digest in sorted(index, key=index.__getitem__):
            record = self._live(digest, now)
            if record is not None:
                sessions.append(_session(digest, record))
        return sessions

    async def delete_for_user(self, user_id: CanonicalId) -> int:
        now = self._now_ms()
        digests = list(self._by_user.get(user_id, {}))
        return sum(self._live(d, now) is not None and self._drop(d) is not None for d in digests)

    def _sweep_if_due(self, now_ms: int) -> None:
        if len(self._records) >= self._sweep_at:
            self._sweep(now_ms)

    def _reclaim(self, now_ms: int) -> None:
        """Drop the expired sessions if one may have expired (the budget needs room)."""
        if now_ms >= self._earliest_expiry:
            self._sweep(now_ms)

    def _sweep(self, now_ms: int) -> None:
        for digest in [d for d, r in self._records.items() if now_ms >= r.expires_ms]:
            self._drop(digest)
        self._sweep_at = max(_MIN_SWEEP, 2 * len(self._records))
        # Expiries only move later, so the earliest one now is a lower bound from here on.
        self._earliest_expiry = min((r.expires_ms for r in self._records.values()), default=_NEVER)


def _data_bytes(data: Mapping[str, bytes]) -> int:
    return sum(DATA_ITEM_BYTES + len(key) + len(value) for key, value in data.items())


def _session(digest: str, record: _Record) -> UserSession:
    return UserSession(
        session_id=None,
        session_hash=digest,
        user_id=record.user_id,
        user_data={key: decode(value) for key, value in record.data.items()},
        project_access=frozenset(record.projects),
        created_at=_from_ms(record.created_ms),
        last_activity=_from_ms(record.last_ms),
        expires_at=_from_ms(record.expires_ms),
        absolute_expires_at=_from_ms(record.absolute_ms),
    )


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
