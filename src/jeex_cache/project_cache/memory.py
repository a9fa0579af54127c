"""``ProjectCacheRepository`` in process memory: the embedded default backend.

Same contract as the Redis backend (the contract suite runs over both). Operations are plain
synchronous code inside coroutines, so each is atomic on the event loop.

Memory: an overwritten or deleted entry is dropped from the table at once, so its payload is
freed at once. The expiry heap holds only ``(expiry, generation, slot)``: a stale item (its
entry since rewritten or removed) holds no payload, is skipped when popped, and the heap is
rebuilt from the live entries once stale items outnumber them. A payload is kept as a copy
of exactly its length (``held_bytes``). Each entry is charged to the backend's
``MemoryBudget`` at what it costs in memory (payload, name, record, indexes: see the
constants); when a write does not fit, the budget evicts as Redis does under ``maxmemory``:
expired entries first, then the least recently used. When no entry is left to evict (the
bound is held by sessions, tasks...), the write is refused with ``MemoryLimitError``.

Fill tokens (``open_fill``): one per entry with a load in flight, with the load's tags. Every
write, delete and invalidation of the entry takes it away; a fill whose token has gone is
REVOKED. At most ``MAX_FILLS`` are kept (the oldest go first: their fills are then refused).
They are charged to the budget too, but never refused (a load in flight is not stopped).

Watched entries (``watch``): the loaders' store keeps metadata of loaded entries, and is told
(``on_leave``) when one leaves, by any path (a write over it, a delete, an invalidation, its
expiry, an eviction), so what it keeps goes with the entry.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jeex_cache.core.clock import Clock
from jeex_cache.core.codec import decode
from jeex_cache.core.errors import VersionLimitError
from jeex_cache.core.identifiers import CanonicalId, IdKey, id_key
from jeex_cache.core.memory_budget import MemoryBudget, held_bytes
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.model import (
    MAX_VERSION,
    CacheTag,
    ProjectCache,
    WriteOutcome,
    WriteResult,
)

__all__ = ["ENTRY_OVERHEAD_BYTES", "MAX_FILLS", "MemoryProjectCacheRepository", "entry_bytes"]

_Slot = tuple[IdKey, str | None]  # keyed by ``id_key``: a UUID's hash is Python code

# What an entry costs beside its payload, name and tags: its record, its place in the
# table, the heap and its project's index (tracemalloc, CPython 3.11, rounded up).
ENTRY_OVERHEAD_BYTES = 640
PROJECT_INDEX_BYTES = 340  # a project's first entry: its set of names and the ID
TAG_BYTES = 160  # a tag of an entry: its slot in the entry's tag set and the tag's index
TAG_PROJECT_BYTES = 140  # a tag's first entry in a project: the project's set in its index
FILL_BYTES = 560  # a fill token beside its token's and name's lengths (16 more per tag)
_COMPACT_SLACK = 1_024  # stale heap items tolerated beyond one per live entry
MAX_FILLS = 100_000  # fill tokens kept (loads in flight, or that died without a release)


@dataclass(slots=True)
class _Entry:
    payload: bytes
    version: int
    created_ms: int
    expires_ms: int
    tags: frozenset[str]
    size: int
    generation: int
    access_count: int = 0
    last_access_ms: int | None = None


class MemoryProjectCacheRepository:
    """Project cache entries in an LRU-ordered table, with exact tag and project indexes."""

    def __init__(self, clock: Clock, budget: MemoryBudget | None = None) -> None:
        self._clock = clock
        self._budget = budget = MemoryBudget() if budget is None else budget
        budget.on_reclaim("cache", lambda: self._expire_due(self._now_ms()))
        budget.on_evict(self._evict, lambda: len(self._entries))
        self._entries: OrderedDict[_Slot, _Entry] = OrderedDict()  # least recently used first
        self._by_project: defaultdict[IdKey, set[str | None]] = defaultdict(set)
        self._by_tag: defaultdict[str, defaultdict[IdKey, set[str | None]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._expiry: list[tuple[int, int, _Slot]] = []
        self._fills: OrderedDict[_Slot, tuple[str, frozenset[str]]] = OrderedDict()
        self._generations = itertools.count()
        self._watched: set[_Slot] = set()
        self._on_leave: Callable[[IdKey, str | None], object] | None = None

    @property
    def payload_bytes(self) -> int:
        """Bytes accounted to live entries: payloads, names, tags, records and indexes."""
        return self._budget.by_kind["cache"]

    def usage(self) -> dict[str, int]:
        """The budget's report: ``used`` and ``max`` bytes, ``entries``, ``evictions``..."""
        return self._budget.usage()

    def _now_ms(self) -> int:
        return int(self._clock.time() * 1000)

    def _live(self, slot: _Slot, now_ms: int) -> _Entry | None:
        entry = self._entries.get(slot)
        if entry is not None and now_ms > entry.expires_ms:
            self._remove(slot)
            return None
        return entry

    def _touch(self, project_id: CanonicalId, name: str | None) -> tuple[_Entry, int] | None:
        now = self._now_ms()
        slot = (id_key(project_id), name)
        entry = self._live(slot, now)
        if entry is None:
            return None
        entry.access_count += 1
        entry.last_access_ms = now
        self._entries.move_to_end(slot)
        return entry, now

    async def get_and_touch(self, project_id: CanonicalId, name: str | None) -> bytes | None:
        touched = self._touch(project_id, name)
        return None if touched is None else touched[0].payload

    async def get_entry(self, project_id: CanonicalId, name: str | None) -> ProjectCache | None:
        touched = self._touch(project_id, name)
        if touched is None:
            return None
        entry = touched[0]
        return ProjectCache(
            project_id=project_id,
            name=name,
            data=decode(entry.payload),
            version=entry.version,
            created_at=_from_ms(entry.created_ms),
            expires_at=_from_ms(entry.expires_ms),
            access_count=entry.access_count,
            last_accessed_at=_from_ms(entry.last_access_ms) if entry.last_access_ms else None,
            tags=frozenset(CacheTag(t) for t in entry.tags),
        )

    async def set_if_newer(
        self,
        project_id: CanonicalId,
        name: str | None,
        payload: bytes,
        ttl: TTL,
        tags: frozenset[CacheTag],
        version: int | None,
        fill: str | None = None,
    ) -> WriteResult:
        now = self._now_ms()
        self._expire_due(now)
        key = id_key(project_id)
        slot = (key, name)
        stored = self._live(slot, now)
        held = self._drop_fill(slot)  # any write takes the entry's token
        if fill is not None and (held is None or held[0] != fill):
            return WriteResult(WriteOutcome.REVOKED, None if stored is None else stored.version)
        if version is None:
            if stored is not None and stored.version >= MAX_VERSION:
                raise VersionLimitError()
            version = (stored.version if stored else 0) + 1
        elif stored is not None and version < stored.version:
            return WriteResult(WriteOutcome.STALE, stored.version)
        if stored is not None:
            self._remove(slot)
        tag_names = frozenset(t.name for t in tags)
        size = entry_bytes(payload, name, tag_names) + self._index_bytes(key, tag_names)
        self._budget.charge("cache", size)  # may evict others, or refuse: nothing written
        generation = next(self._generations)
        entry = _Entry(
            held_bytes(payload), version, now, now + ttl.milliseconds, tag_names, size, generation
        )
        self._entries[slot] = entry
        self._by_project[key].add(name)
        for tag in entry.tags:
            self._by_tag[tag][key].add(name)
        heapq.heappush(self._expiry, (entry.expires_ms, generation, slot))
        self._compact()
        return WriteResult(WriteOutcome.STORED, version)

    def open_fill(
        self, project_id: CanonicalId, name: str | None, token: str, tags: frozenset[CacheTag]
    ) -> None:
        """Record the fill token of a load of the entry starting now (replacing any other)."""
        slot = (id_key(project_id), name)
        self._drop_fill(slot)
        held = self._fills[slot] = (token, frozenset(tag.name for tag in tags))
        self._budget.force("cache", _fill_bytes(slot, held))  # a load in flight: never refused
        while len(self._fills) > MAX_FILLS:
            self._drop_fill(next(iter(self._fills)))

    def _drop_fill(self, slot: _Slot) -> tuple[str, frozenset[str]] | None:
        held = self._fills.pop(slot, None)
        if held is not None:
            self._budget.release("cache", _fill_bytes(slot, held))
        return held

    def close_fill(self, project_id: CanonicalId, name: str | None, token: str) -> None:
        """Drop the entry's fill token if it is still ``token``'s (its load has ended)."""
        slot = (id_key(project_id), name)
        held = self._fills.get(slot)
        if held is not None and held[0] == token:
            self._drop_fill(slot)

    def _revoke_fills(self, key: IdKey | None, tag: str | None = None) -> None:
        """Take the tokens of the loads of the project of ``key`` (any if None) carrying
        ``tag``."""
        doomed = [
            slot
            for slot, (_, tags) in self._fills.items()
            if (key is None or slot[0] == key) and (tag is None or tag in tags)
        ]
        for slot in doomed:
            self._drop_fill(slot)

    async def delete(self, project_id: CanonicalId, name: str | None) -> bool:
        slot = (id_key(project_id), name)
        self._drop_fill(slot)
        live = self._live(slot, self._now_ms()) is not None
        if live:
            self._remove(slot)
        return live

    async def invalidate_project(self, project_id: CanonicalId) -> int:
        key = id_key(project_id)
        self._revoke_fills(key)
        now = self._now_ms()
        names = list(self._by_project.get(key, ()))
        return sum(self._remove_if_live((key, name), now) for name in names)

    async def invalidate_tag(self, tag: CacheTag, project_id: CanonicalId | None = None) -> int:
        return self._invalidate_tag(tag, None if project_id is None else id_key(project_id))

    def _invalidate_tag(self, tag: CacheTag, key: IdKey | None) -> int:
        self._revoke_fills(key, tag.name)
        now = self._now_ms()
        projects: dict[IdKey, set[str | None]] = self._by_tag.get(tag.name, {})
        slots = [
            (held, name)
            for held, names in projects.items()
            if key is None or held == key
            for name in names
        ]
        return sum(self._remove_if_live(slot, now) for slot in slots)

    async def invalidate_tag_in(self, tag: CacheTag, project_ids: Sequence[CanonicalId]) -> int:
        return sum(self._invalidate_tag(tag, key) for key in {id_key(p) for p in project_ids})

    async def list_names(self, project_id: CanonicalId) -> list[str | None]:
        now, key = self._now_ms(), id_key(project_id)
        names = list(self._by_project.get(key, ()))
        return [name for name in names if self._live((key, name), now) is not None]

    async def cleanup_expired(self) -> int:
        removed = self._expire_due(self._now_ms())
        self._compact()
        return removed

    async def get_many(self, slots: Sequence[tuple[CanonicalId, str | None]]) -> list[bytes | None]:
        return [await self.get_and_touch(project_id, name) for project_id, name in slots]

    async def set_many(
        self,
        project_id: CanonicalId,
        entries: Sequence[tuple[str | None, bytes]],
        ttl: TTL,
        tags: frozenset[CacheTag],
    ) -> list[WriteResult]:
        return [
            await self.set_if_newer(project_id, name, payload, ttl, tags, None)
            for name, payload in entries
        ]

    def _remove_if_live(self, slot: _Slot, now_ms: int) -> int:
        if self._live(slot, now_ms) is None:
            return 0
        self._remove(slot)
        return 1

    def _index_bytes(self, key: IdKey, tags: frozenset[str]) -> int:
        """What the indexes grow by when an entry of the project of ``key`` with ``tags``
        joins."""
        size = 0 if key in self._by_project else PROJECT_INDEX_BYTES
        by_tag = self._by_tag
        for tag in tags:
            projects = by_tag.get(tag)
            if projects is None or key not in projects:
                size += TAG_PROJECT_BYTES
        return size

    def on_leave(self, callback: Callable[[IdKey, str | None], object]) -> None:
        """``callback(key, name)`` runs once when a ``watch``-ed entry leaves."""
        self._on_leave = callback

    def holds(self, key: IdKey, name: str | None, version: int) -> bool:
        """Whether the entry is cached at ``version`` (expired or not)."""
        entry = self._entries.get((key, name))
        return entry is not None and entry.version == version

    def watch(self, key: IdKey, name: str | None, watched: bool = True) -> None:
        """Report (or, with ``watched=False``, stop reporting) the entry's leaving."""
        if watched:
            self._watched.add((key, name))
        else:
            self._watched.discard((key, name))

    def _remove(self, slot: _Slot) -> None:
        entry = self._entries.pop(slot)
        self._budget.release("cache", entry.size)
        if slot in self._watched and self._on_leave is not None:  # no call unless watched
            self._watched.discard(slot)
            self._on_leave(*slot)
        key, name = slot
        _discard(self._by_project, key, name)
        for tag in entry.tags:
            projects = self._by_tag[tag]
            _discard(projects, key, name)
            if not projects:
                del self._by_tag[tag]

    def _expire_due(self, now_ms: int) -> int:
        """Remove the entries whose expiry has passed; return how many."""
        heap, entries = self._expiry, self._entries
        removed = 0
        while heap and heap[0][0] < now_ms:
            _, generation, slot = heapq.heappop(heap)
            entry = entries.get(slot)
            if entry is not None and entry.generation == generation:
                self._remove(slot)
                removed += 1
        return removed

    def _evict(self, needed: int) -> int:
        """Evict the least recently used entries until ``needed`` bytes are freed, or none
        is left; return how many went. (The budget reclaimed expired ones first.)"""
        entries, freed, evicted = self._entries, 0, 0
        while freed < needed and entries:
            oldest = next(iter(entries))
            freed += entries[oldest].size
            self._remove(oldest)
            evicted += 1
        return evicted

    def _compact(self) -> None:
        """Rebuild the expiry heap from the live entries once stale items dominate it."""
        if len(self._expiry) > 2 * len(self._entries) + _COMPACT_SLACK:
            self._expiry = [(e.expires_ms, e.generation, s) for s, e in self._entries.items()]
            heapq.heapify(self._expiry)


def entry_bytes(payload: bytes, name: str | None, tags: frozenset[str]) -> int:
    """What an entry costs in memory, its indexes' shared sets aside: the payload's copy,
    the name, the tags and ``ENTRY_OVERHEAD_BYTES``."""
    tag_bytes = sum(TAG_BYTES + len(tag) for tag in tags)
    return 33 + len(payload) + 49 + len(name or "") + tag_bytes + ENTRY_OVERHEAD_BYTES


def _fill_bytes(slot: _Slot, held: tuple[str, frozenset[str]]) -> int:
    return FILL_BYTES + len(slot[1] or "") + len(held[0]) + 16 * len(held[1])


def _discard(
    index: defaultdict[IdKey, set[str | None]], project_id: IdKey, name: str | None
) -> None:
    names = index.get(project_id)
    if names is not None:
        names.discard(name)
        if not names:
            del index[project_id]


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
