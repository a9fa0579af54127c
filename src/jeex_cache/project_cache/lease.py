"""The loaders' repository port (``LoadStore``: loader-aware reads, load metadata, load
leases), its calls under the failure policy (``LoadSteps``), and its in-memory backend.

A lease is the right to run an entry's loader, held by one caller of the whole deployment
for a few seconds at a time and extended while it runs; the others wait to be told it ended.
A holder that dies frees the entry when its lease runs out.

``LoadSteps``: a failed step says so (``Outcome.failed``) rather than raising, and the loader
carries on without it.

``MemoryLoadStore``, over the embedded project cache: in one process the loaders' own
single-flight already makes one load per entry; the lease here keeps the contract whole (one
holder, waiters told at once) for any caller of the port. Metadata of entries since rewritten
is ignored (it names another version) and bounded; it goes with its entry (the repository
tells when one leaves: ``MemoryProjectCacheRepository.watch``).
Leases and metadata are charged to the backend's ``MemoryBudget`` under ``cache`` (see the
constants, measured with tracemalloc), never refused (a load in flight is not stopped), and
released when they go; leases that ran out unreleased (a cancelled holder's) are swept once
the table doubles, or when the bound needs room.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jeex_cache.core.identifiers import CanonicalId, IdKey, id_key
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.failures import CACHE_LEASE, CACHE_READ, CACHE_WRITE
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.project_cache.model import CacheTag, LoadMark, StoredLoad, WriteResult
from jeex_cache.project_cache.service import ProjectCacheService

__all__ = [
    "LEASE_BYTES",
    "MARK_BYTES",
    "MAX_MARKS",
    "FillTerms",
    "Grant",
    "LeaseEnd",
    "LoadSteps",
    "LoadStore",
    "MemoryLoadStore",
]


class LeaseEnd(enum.Enum):
    """How a wait for another caller's lease ended."""

    FREE = "free"  # no lease was held: look again
    LOADED = "loaded"  # the holder cached a value
    FAILED = "failed"  # the holder's loader raised
    TIMEOUT = "timeout"  # nothing heard within the wait: look again (the holder may be dead)


class Grant(enum.Enum):
    """The answer to a lease request."""

    TAKEN = "taken"  # the caller holds the lease now
    HELD = "held"  # another caller holds it
    FRESH = "fresh"  # not taken: a fresh value is cached already (loaded meanwhile)


@dataclass(frozen=True, slots=True)
class FillTerms:
    """What the loaded value will be written with: its tags (a tag invalidation revokes the
    load's token) and the entry's TTL (how long the tags' registries list the project)."""

    tags: frozenset[CacheTag]
    ttl: TTL


class LoadStore(Protocol):
    """What the loaders need of a backend, beside the project cache's own writes."""

    async def read(
        self, project_id: CanonicalId, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        """The entry with its load metadata (counting ``accesses``), or None on a miss."""

    async def acquire(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        ms: int,
        fresh_after: float,
        fill: FillTerms,
    ) -> Grant:
        """Take the entry's lease for ``ms`` unless someone holds it, or the entry is fresh
        beyond ``fresh_after`` (loaded meanwhile: a backend shared by processes checks, in one
        process the loaders' own flights make that impossible). With the lease, ``token``
        becomes the entry's fill token (``ProjectCacheRepository.set_if_newer``'s ``fill``),
        which any invalidation of the entry, or of a tag of ``fill.tags``, revokes."""

    async def extend(self, project_id: CanonicalId, name: str | None, token: str, ms: int) -> bool:
        """Give the lease ``ms`` more if ``token`` still holds it."""

    async def release(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        end: LeaseEnd,
        mark: LoadMark | None = None,
    ) -> None:
        """Attach ``mark`` to the entry if it still holds ``mark.version``, then drop the
        lease and the fill token ``token`` holds and tell every waiter how it ended (one
        step)."""

    async def wait(self, project_id: CanonicalId, name: str | None, seconds: float) -> LeaseEnd:
        """Wait (at most ``seconds``) for the entry's lease to end; FREE if none is held."""


# -- the port under the failure policy ----------------------------------------------------

_SPAN = {"project_id": "project_id", "entry": "name"}


def _false() -> bool:
    return False


def _none() -> None:
    return None


def _timeout() -> LeaseEnd:
    return LeaseEnd.TIMEOUT


class LoadSteps:
    """Reads, writes and lease steps of the loaders over one ``LoadStore``."""

    def __init__(
        self, store: LoadStore, cache: ProjectCacheService, runtime: OperationRuntime
    ) -> None:
        self._store = store
        self._cache = cache
        self.runtime = runtime

    @guarded(CACHE_READ, idempotent=True, outcome=True, attributes=_SPAN, name="loader_read")
    async def read(
        self, project_id: CanonicalId, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        """The entry and its load metadata, or None (a miss, or the backend failed)."""
        return await self._store.read(project_id, name, accesses)

    @guarded(CACHE_WRITE, fallback=_none, outcome=True, attributes=_SPAN, name="loader_write")
    async def write(
        self,
        project_id: CanonicalId,
        name: str | None,
        value: Any,
        ttl: TTL,
        tags: Iterable[CacheTag],
        fill: str,
        version: int | None,
    ) -> WriteResult | None:
        """Cache a loaded value for ``ttl`` (its TTL plus its stale window) with the load's
        fill token (REVOKED once an invalidation came); None if the backend failed. Its
        metadata rides on the lease's release."""
        return await self._cache.put(
            project_id, name, value, ttl=ttl, tags=tags, version=version, fill=fill
        )

    @guarded(CACHE_LEASE, outcome=True, attributes=_SPAN, name="lease_acquire")
    async def acquire(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        ms: int,
        fresh_after: float,
        fill: FillTerms,
    ) -> Grant | None:
        """Take the entry's lease and its fill token (``LoadStore.acquire``); None when the
        backend failed."""
        return await self._store.acquire(project_id, name, token, ms, fresh_after, fill)

    @guarded(CACHE_LEASE, fallback=_false, outcome=True, attributes=_SPAN, name="lease_extend")
    async def extend(self, project_id: CanonicalId, name: str | None, token: str, ms: int) -> bool:
        """Extend a held lease."""
        return await self._store.extend(project_id, name, token, ms)

    @guarded(CACHE_LEASE, outcome=True, attributes=_SPAN, name="lease_release")
    async def release(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        end: LeaseEnd,
        mark: LoadMark | None = None,
    ) -> None:
        """Mark the loaded entry, drop the lease and wake its waiters."""
        await self._store.release(project_id, name, token, end, mark)

    @guarded(CACHE_LEASE, fallback=_timeout, outcome=True, attributes=_SPAN, name="lease_wait")
    async def wait(self, project_id: CanonicalId, name: str | None, seconds: float) -> LeaseEnd:
        """Wait for another caller's lease to end (bounded)."""
        return await self._store.wait(project_id, name, seconds)


# -- in process memory ---------------------------------------------------------------------

MAX_MARKS = 100_000  # metadata records kept; the oldest go first (their entries then look plain)
# What a lease and a mark cost (tracemalloc, CPython 3.11, rounded up) beside the lengths
# of the entry's name (and the lease's token): the record (a lease's future), its slot with
# the project's ID, its table entry (and a mark's place among the repository's watched).
LEASE_BYTES = 420
MARK_BYTES = 390
_SWEEP_MIN = 64  # leases held before the first sweep for run-out ones

_Slot = tuple[CanonicalId, str | None]
_Key = tuple[IdKey, str | None]  # a mark's, as the repository keys its entries


@dataclass(slots=True)
class _Lease:
    token: str
    until: float  # the event loop's clock
    ended: asyncio.Future[LeaseEnd] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class MemoryLoadStore:
    """Loader reads, metadata and leases beside a ``MemoryProjectCacheRepository``."""

    def __init__(
        self, repository: MemoryProjectCacheRepository, budget: MemoryBudget | None = None
    ) -> None:
        self._repository = repository
        self._budget = MemoryBudget() if budget is None else budget
        self._marks: OrderedDict[_Key, tuple[int, float, float]] = OrderedDict()
        repository.on_leave(self._entry_left)
        self._leases: dict[_Slot, _Lease] = {}
        self._sweep_at = _SWEEP_MIN
        self._budget.on_reclaim("cache", self._sweep)

    async def read(
        self, project_id: CanonicalId, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        for _ in range(accesses - 1):  # readers who shared an earlier read
            await self._repository.get_and_touch(project_id, name)
        entry = await self._repository.get_entry(project_id, name)
        if entry is None or entry.data is None:
            return None
        mark = self._marks.get((id_key(project_id), name))
        if mark is None or mark[0] != entry.version:
            return StoredLoad(entry.data, float("inf"), 0.0)
        return StoredLoad(entry.data, mark[1], mark[2])

    def _mark(self, project_id: CanonicalId, name: str | None, mark: LoadMark) -> None:
        key = (id_key(project_id), name)
        if not self._repository.holds(*key, mark.version):
            return  # rewritten or gone since the load wrote it: nothing to mark
        if key not in self._marks:
            self._budget.force("cache", MARK_BYTES + len(name or ""))
            self._repository.watch(*key)
        self._marks[key] = (mark.version, mark.fresh_until, mark.delta)
        self._marks.move_to_end(key)
        while len(self._marks) > MAX_MARKS:
            oldest = next(iter(self._marks))
            self._repository.watch(*oldest, watched=False)
            self._entry_left(*oldest)

    def _entry_left(self, key: IdKey, name: str | None) -> None:
        """The entry left the cache (or its mark the table): its mark goes."""
        if self._marks.pop((key, name), None) is not None:
            self._budget.release("cache", MARK_BYTES + len(name or ""))

    def _held(self, slot: _Slot) -> _Lease | None:
        lease = self._leases.get(slot)
        if lease is not None and lease.until <= asyncio.get_running_loop().time():
            self._end(slot, lease, LeaseEnd.TIMEOUT)
            return None
        return lease

    def _sweep(self) -> None:
        """End the leases that ran out (a holder cancelled or gone never released its own):
        run when the table has doubled since the last sweep, or when the bound needs room."""
        if not self._leases:  # (the budget may ask outside a loop)
            return
        now = asyncio.get_running_loop().time()
        for slot, lease in [item for item in self._leases.items() if item[1].until <= now]:
            self._end(slot, lease, LeaseEnd.TIMEOUT)
        self._sweep_at = max(_SWEEP_MIN, 2 * len(self._leases))

    def _end(self, slot: _Slot, lease: _Lease, end: LeaseEnd) -> None:
        del self._leases[slot]
        self._budget.release("cache", _lease_bytes(slot, lease.token))
        if not lease.ended.done():
            lease.ended.set_result(end)

    async def acquire(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        ms: int,
        fresh_after: float,
        fill: FillTerms,
    ) -> Grant:
        slot = (project_id, name)
        if self._held(slot) is not None:
            return Grant.HELD
        until = asyncio.get_running_loop().time() + ms / 1000
        self._leases[slot] = _Lease(token, until)
        self._budget.force("cache", _lease_bytes(slot, token))  # a load: never refused
        if len(self._leases) >= self._sweep_at:
            self._sweep()
        self._repository.open_fill(project_id, name, token, fill.tags)
        return Grant.TAKEN

    async def extend(self, project_id: CanonicalId, name: str | None, token: str, ms: int) -> bool:
        lease = self._held((project_id, name))
        if lease is None or lease.token != token:
            return False
        lease.until = asyncio.get_running_loop().time() + ms / 1000
        return True

    async def release(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        end: LeaseEnd,
        mark: LoadMark | None = None,
    ) -> None:
        if mark is not None:
            self._mark(project_id, name, mark)
        self._repository.close_fill(project_id, name, token)
        slot = (project_id, name)
        lease = self._held(slot)
        if lease is not None and lease.token == token:
            self._end(slot, lease, end)

    async def wait(self, project_id: CanonicalId, name: str | None, seconds: float) -> LeaseEnd:
        lease = self._held((project_id, name))
        if lease is None:
            return LeaseEnd.FREE
        left = max(0.0, min(seconds, lease.until - asyncio.get_running_loop().time()))
        try:
            return await asyncio.wait_for(asyncio.shield(lease.ended), left)
        except TimeoutError:
            return LeaseEnd.TIMEOUT


def _lease_bytes(slot: _Slot, token: str) -> int:
    return LEASE_BYTES + len(slot[1] or "") + len(token)
