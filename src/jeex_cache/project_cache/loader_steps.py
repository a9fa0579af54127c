"""The loaders' backend calls, each under the failure policy: a failed step says so
(``Outcome.failed``) rather than raising, and the loader carries on without it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.failures import CACHE_LEASE, CACHE_READ, CACHE_WRITE
from jeex_cache.project_cache.lease import FillTerms, Grant, LeaseEnd, LoadStore
from jeex_cache.project_cache.loading import LoadMark, StoredLoad
from jeex_cache.project_cache.model import CacheTag, WriteResult
from jeex_cache.project_cache.service import ProjectCacheService

__all__ = ["LoadSteps"]

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
