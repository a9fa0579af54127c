"""``LoadStore`` in process memory, over the embedded project cache: the same contract.

In one process the loaders' own single-flight already makes one load per entry; the lease
here keeps the contract whole (one holder, waiters told at once) for any caller of the port.
Metadata of entries since rewritten is ignored (it names another version) and bounded.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.project_cache.lease import FillTerms, Grant, LeaseEnd
from jeex_cache.project_cache.loading import LoadMark, StoredLoad
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository

__all__ = ["MAX_MARKS", "MemoryLoadStore"]

MAX_MARKS = 100_000  # metadata records kept; the oldest go first (their entries then look plain)

_Slot = tuple[CanonicalId, str | None]


@dataclass(slots=True)
class _Lease:
    token: str
    until: float  # the event loop's clock
    ended: asyncio.Future[LeaseEnd] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class MemoryLoadStore:
    """Loader reads, metadata and leases beside a ``MemoryProjectCacheRepository``."""

    def __init__(self, repository: MemoryProjectCacheRepository) -> None:
        self._repository = repository
        self._marks: OrderedDict[_Slot, tuple[int, float, float]] = OrderedDict()
        self._leases: dict[_Slot, _Lease] = {}

    async def read(
        self, project_id: CanonicalId, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        for _ in range(accesses - 1):  # readers who shared an earlier read
            await self._repository.get_and_touch(project_id, name)
        entry = await self._repository.get_entry(project_id, name)
        if entry is None or entry.data is None:
            return None
        mark = self._marks.get((project_id, name))
        if mark is None or mark[0] != entry.version:
            return StoredLoad(entry.data, float("inf"), 0.0)
        return StoredLoad(entry.data, mark[1], mark[2])

    def _mark(self, project_id: CanonicalId, name: str | None, mark: LoadMark) -> None:
        slot = (project_id, name)
        self._marks[slot] = (mark.version, mark.fresh_until, mark.delta)
        self._marks.move_to_end(slot)
        while len(self._marks) > MAX_MARKS:
            self._marks.popitem(last=False)

    def _held(self, slot: _Slot) -> _Lease | None:
        lease = self._leases.get(slot)
        if lease is not None and lease.until <= asyncio.get_running_loop().time():
            self._end(slot, lease, LeaseEnd.TIMEOUT)
            return None
        return lease

    def _end(self, slot: _Slot, lease: _Lease, end: LeaseEnd) -> None:
        del self._leases[slot]
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
