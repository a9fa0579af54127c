"""The project data cache part of ``CacheManager``: reads, writes, invalidation, the
loaders, and the views (``project``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from jeex_cache.backends import Backend
from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id
from jeex_cache.core.resilience import NOT_HELD, guarded
from jeex_cache.core.results import ReadResult, failed_read
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTLLike
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache import warm as warming
from jeex_cache.project_cache.failures import (
    CACHE_INVALIDATE,
    CACHE_READ,
    CACHE_WRITE,
    FAILED_WRITE,
)
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.model import (
    Loader,
    LoadResult,
    ProjectCache,
    VersionOf,
    WriteOutcome,
    WriteResult,
)
from jeex_cache.project_cache.near_cache import DISABLED
from jeex_cache.project_cache.near_repository import NearCachedRepository
from jeex_cache.project_cache.service import CacheInvalidationService, ProjectCacheService, TagLike
from jeex_cache.project_cache.view import Gate, ProjectCacheView, SessionProjectView

__all__ = ["ProjectCacheAPI", "ProjectCacheServices"]

_PROJECT = {"project_id": "project_id"}  # span attributes (see ``guarded``)
_TAG = {"tag": "tag"}


@dataclass(frozen=True, slots=True)
class ProjectCacheServices:
    """Reads and writes (``cache``), and invalidation with its audit log (``invalidation``)."""

    cache: ProjectCacheService
    invalidation: CacheInvalidationService
    loader: LoaderService  # get_or_load: single-flight, early refresh, stale values


def _near_hit(api: ProjectCacheAPI, project_id: ProjectId) -> Any:
    """``get_project_data`` answered by the near cache with no await, else ``NOT_HELD``."""
    cache = api._project.cache
    return cache.peek(project_id) if cache.peeks else NOT_HELD


class ProjectCacheAPI:
    """Versioned, tagged project data: the spec's cache methods and the project view.

    The ``read_*`` methods return a ``ReadResult`` that says FAILED when the backend failed,
    where ``get_*`` answers a miss; ``outcome_of(cache.invalidate_project_cache, ...)``
    tells a failed invalidation from one that removed nothing. The loaders
    (``get_or_load_project_data``) are cache-aside done once: single-flight loads, early
    refresh, stale values, warming; backend failures never raise from them (the loader runs
    and its value is returned uncached), the loader's own exception reaches its caller.
    """

    runtime: OperationRuntime
    _backend: Backend | None
    _project: ProjectCacheServices  # set by ``CacheManager.initialize()``

    @guarded(CACHE_WRITE, attributes=_PROJECT)
    async def cache_project_data(
        self,
        project_id: ProjectId,
        data: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> bool:
        """Cache a project's document; False if refused as stale or the backend failed.

        ``version`` (an int in [0, 2**53)) is refused only when lower than the stored one;
        the same version overwrites, so a retried write is harmless. Without it the stored
        version plus one is written. ``ttl`` defaults to ``CACHE_PROJECT_DATA_TTL``.
        """
        result = await self._project.cache.put(
            project_id, None, data, ttl=ttl, tags=tags, version=version
        )
        return result.outcome is WriteOutcome.STORED

    @guarded(CACHE_WRITE, fallback=lambda: FAILED_WRITE, attributes=_PROJECT)
    def write_project_data(
        self,
        project_id: ProjectId,
        data: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> Coroutine[Any, Any, WriteResult]:
        """Like ``cache_project_data`` but says why: STORED, STALE (with the newer version)
        or FAILED."""
        # Returns the service's coroutine for the guard to await: one frame less per write.
        return self._project.cache.put(project_id, None, data, ttl=ttl, tags=tags, version=version)

    @guarded(CACHE_READ, idempotent=True, attributes=_PROJECT, peek=_near_hit)
    def get_project_data(self, project_id: ProjectId) -> Coroutine[Any, Any, Any]:
        """The cached document, or None on a miss (or while the backend is down)."""
        # Returns the service's coroutine for the guard to await: one frame less per read.
        return self._project.cache.get(project_id)

    @guarded(CACHE_READ, idempotent=True, attributes=_PROJECT)
    async def get_project_entry(self, project_id: ProjectId) -> ProjectCache | None:
        """The cached document with its version, times and access statistics."""
        return await self._project.cache.get_entry(project_id)

    @guarded(CACHE_READ, fallback=failed_read, idempotent=True, attributes=_PROJECT)
    async def read_project_data(self, project_id: ProjectId) -> ReadResult[Any]:
        """``get_project_data`` that tells a miss from a backend failure: a ``ReadResult``
        (HIT with the document, MISS, or FAILED)."""
        return ReadResult.of(await self._project.cache.get(project_id))

    @guarded(CACHE_READ, fallback=failed_read, idempotent=True, attributes=_PROJECT)
    async def read_project_entry(self, project_id: ProjectId) -> ReadResult[ProjectCache]:
        """``get_project_entry`` as a ``ReadResult``: HIT with the entry, MISS, or FAILED."""
        return ReadResult.of(await self._project.cache.get_entry(project_id))

    @guarded(CACHE_WRITE, idempotent=True, attributes=_PROJECT)
    async def delete_project_data(self, project_id: ProjectId) -> bool:
        """Remove the project's main document; True if it existed."""
        return await self._project.cache.delete(project_id)

    @guarded(CACHE_INVALIDATE, idempotent=True, attributes=_PROJECT)
    async def invalidate_project_cache(
        self, project_id: ProjectId, reason: str = "unspecified"
    ) -> int:
        """Remove everything cached for a project; return the number of entries removed."""
        return await self._project.invalidation.invalidate_project(project_id, reason)

    @guarded(CACHE_INVALIDATE, idempotent=True, attributes=_TAG)
    async def invalidate_by_tag(self, tag: TagLike, reason: str = "tag") -> int:
        """Remove every entry carrying ``tag``, in every project; return the count."""
        return await self._project.invalidation.invalidate_tag(tag, None, reason)

    @guarded(CACHE_INVALIDATE, idempotent=True, attributes=_TAG)
    async def invalidate_tag_in_projects(
        self, tag: TagLike, project_ids: Iterable[ProjectId], reason: str = "tag"
    ) -> int:
        """Remove the entries carrying ``tag`` in the given projects only; return the count."""
        return await self._project.invalidation.invalidate_tag_in(tag, project_ids, reason)

    @guarded(CACHE_READ, fallback=list, idempotent=True, attributes=_PROJECT)
    async def list_project_keys(self, project_id: ProjectId) -> list[str]:
        """The keys (relative to the namespace) of a project's live entries, sorted."""
        pid = parse_id(project_id)
        names = await self._project.cache.list_names(pid)
        keys = (
            project_keys.data(pid) if name is None else project_keys.entry(pid, name)
            for name in names
        )
        return sorted(key.value for key in keys)

    def project(self, project_id: ProjectId, *, gate: Gate | None = None) -> ProjectCacheView:
        """A key/value view whose every key is confined to ``project_id``; with ``gate``, a
        ``SessionProjectView`` whose every call first awaits ``gate(project_id)``."""
        services = self._project
        parts = (services.cache, services.invalidation, services.loader, self.runtime)
        if gate is None:
            return ProjectCacheView(project_id, *parts)
        return SessionProjectView(project_id, *parts, gate)

    def near_cache_stats(self) -> dict[str, int | bool]:
        """The near cache's ``hits``, ``misses``, ``invalidations`` received, ``flushes``,
        ``evictions``, ``entries`` and ``bytes`` held (``enabled`` False when it is off)."""
        backend = self._backend
        repository = None if backend is None else backend.repositories.get("project_cache")
        if isinstance(repository, NearCachedRepository):
            return repository.near.stats().as_dict()
        return DISABLED.as_dict()

    @guarded(CACHE_READ, fallback=dict, idempotent=True)
    async def get_many_project_data(
        self, project_ids: Iterable[ProjectId]
    ) -> dict[CanonicalId, Any]:
        """The cached documents of many projects, by project ID; misses are absent (and all
        are while the backend is down). One round trip per Redis node; each read counts as
        a ``get_project_data`` does in the access statistics."""
        return await self._project.cache.get_many(project_ids)

    @asynccontextmanager
    async def get_connection(self, project_id: ProjectId) -> AsyncIterator[ProjectCacheView]:
        """The spec's ``async with ...get_connection(project_id) as client`` form of ``project``."""
        yield self.project(project_id)

    async def get_or_load_project_data(
        self,
        project_id: ProjectId,
        loader: Loader,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        stale_ttl: TTLLike | None = None,
        early_refresh: bool = True,
        stale_while_revalidate: bool = True,
        version_of: VersionOf | None = None,
    ) -> Any:
        """The project's cached document, or ``await loader()``'s, cached for ``ttl``.

        One caller of the deployment runs the loader on a miss; the others wait for its
        value. ``early_refresh``: a fresh entry is reloaded in the background a little
        before it expires (XFetch, ``CACHE_XFETCH_BETA``). Within ``stale_ttl`` after its
        TTL the old value is returned at once while one background load runs (or, with
        ``stale_while_revalidate=False``, only if the load fails). A loader's exception
        reaches its caller and the next call loads again. An invalidation, delete or write
        of the entry after the load started wins: the loaded value is returned, not cached.
        ``version_of(value)`` (e.g. ``lambda row: row["version"]``) makes the fill a
        versioned write, so an older database snapshot never replaces a newer one.
        """
        result = await self.read_or_load_project_data(
            project_id, loader, ttl, tags=tags, stale_ttl=stale_ttl,
            early_refresh=early_refresh, stale_while_revalidate=stale_while_revalidate,
            version_of=version_of,
        )  # fmt: skip
        return result.value

    async def read_or_load_project_data(
        self,
        project_id: ProjectId,
        loader: Loader,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        stale_ttl: TTLLike | None = None,
        early_refresh: bool = True,
        stale_while_revalidate: bool = True,
        version_of: VersionOf | None = None,
    ) -> LoadResult:
        """``get_or_load_project_data`` as a ``LoadResult``: the value and its source
        (HIT, LOADED, STALE with the loader's error if it failed, UNCACHED when the backend
        failed, SUPERSEDED when an invalidation or newer write won over this load)."""
        return await self._project.loader.get_or_load(
            project_id, None, loader, ttl, tags=tags, stale_ttl=stale_ttl,
            early_refresh=early_refresh, stale_while_revalidate=stale_while_revalidate,
            version_of=version_of,
        )  # fmt: skip

    async def warm_project_cache(
        self,
        project_ids: Iterable[ProjectId],
        loader: warming.ProjectLoader,
        *,
        concurrency: int = 8,
        ttl: TTLLike | None = None,
    ) -> warming.WarmSummary:
        """Load every project not cached fresh with ``await loader(project_id)``, at most
        ``concurrency`` at once, reporting one progress step per project under the
        summary's ``correlation_id`` (``get_progress``, ``progress_events``)."""
        return await warming.warm(
            cast(warming.Warmable, self), project_ids, loader, concurrency=concurrency, ttl=ttl
        )
