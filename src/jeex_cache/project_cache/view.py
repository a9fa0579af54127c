"""A key/value view confined to one project: every key it touches is that project's.

``ProjectCacheView`` is the one implementation. ``SessionProjectView`` is the same view with
a gate (the session's access check): its operations are ``ProjectCacheView``'s own, each
behind ``gated``, the one wrapper that awaits the gate before the call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id
from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTLLike
from jeex_cache.project_cache.failures import (
    CACHE_INVALIDATE,
    CACHE_READ,
    CACHE_WRITE,
    FAILED_WRITE,
)
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.model import Loader, LoadResult, ProjectCache, VersionOf, WriteResult
from jeex_cache.project_cache.service import CacheInvalidationService, ProjectCacheService, TagLike

__all__ = ["Gate", "ProjectCacheView", "SessionProjectView"]

Gate = Callable[[CanonicalId], Awaitable[object]]
"""Awaited with the view's project before each call; raises ``AccessDenied`` to refuse it."""

# Span attributes (see ``guarded``): the view's project, and the entry or tag of the call.
_VIEW = {"project_id": "self.project_id"}
_ENTRY = {"project_id": "self.project_id", "entry": "name"}
_TAG = {"project_id": "self.project_id", "tag": "tag"}


class ProjectCacheView:
    """Named entries of one project: ``await view.set("report", {...}, ttl=60)``.

    Keys become ``<ns>:proj:{<project>}:kv:<name>``; names are validated, so no name can
    reach another project. Obtain one from ``CacheManager.project(project_id)``.
    """

    def __init__(
        self,
        project_id: ProjectId,
        cache: ProjectCacheService,
        invalidation: CacheInvalidationService,
        loader: LoaderService,
        runtime: OperationRuntime,
    ) -> None:
        self.project_id = parse_id(project_id)
        self._loader = loader
        self._cache = cache
        self._invalidation = invalidation
        self.runtime = runtime
        """The manager's failure tracking, retry policy and metrics."""

    @guarded(CACHE_READ, idempotent=True, attributes=_ENTRY)
    async def get(self, name: str) -> Any:
        """The value stored under ``name``, or None on a miss."""
        return await self._cache.get(self.project_id, name)

    @guarded(CACHE_READ, idempotent=True, attributes=_ENTRY)
    async def get_entry(self, name: str) -> ProjectCache | None:
        """The entry under ``name`` with its version and access statistics."""
        return await self._cache.get_entry(self.project_id, name)

    @guarded(CACHE_WRITE, fallback=lambda: FAILED_WRITE, attributes=_ENTRY)
    async def set(
        self,
        name: str,
        value: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> WriteResult:
        """Store ``value`` under ``name``; refused (STALE) if a newer version is stored."""
        return await self._cache.put(
            self.project_id, name, value, ttl=ttl, tags=tags, version=version
        )

    async def get_or_load(
        self,
        name: str,
        loader: Loader,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        stale_ttl: TTLLike | None = None,
        early_refresh: bool = True,
        stale_while_revalidate: bool = True,
        version_of: VersionOf | None = None,
    ) -> Any:
        """``name``'s value, or ``await loader()``'s: ``get_or_load_project_data`` for an
        entry of this view (one load per deployment, early refresh, stale values)."""
        result = await self.read_or_load(
            name, loader, ttl, tags=tags, stale_ttl=stale_ttl, early_refresh=early_refresh,
            stale_while_revalidate=stale_while_revalidate, version_of=version_of,
        )  # fmt: skip
        return result.value

    async def read_or_load(
        self,
        name: str,
        loader: Loader,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        stale_ttl: TTLLike | None = None,
        early_refresh: bool = True,
        stale_while_revalidate: bool = True,
        version_of: VersionOf | None = None,
    ) -> LoadResult:
        """``get_or_load`` as a ``LoadResult`` (the value and where it came from)."""
        return await self._loader.get_or_load(
            self.project_id, name, loader, ttl, tags=tags, stale_ttl=stale_ttl,
            early_refresh=early_refresh, stale_while_revalidate=stale_while_revalidate,
            version_of=version_of,
        )  # fmt: skip

    @guarded(CACHE_WRITE, idempotent=True, attributes=_ENTRY)
    async def delete(self, name: str) -> bool:
        """Remove ``name``; True if it existed."""
        return await self._cache.delete(self.project_id, name)

    @guarded(CACHE_READ, fallback=list, idempotent=True, attributes=_VIEW)
    async def keys(self) -> list[str]:
        """Names of this view's live entries, sorted."""
        names = await self._cache.list_names(self.project_id)
        return sorted(name for name in names if name is not None)

    @guarded(CACHE_INVALIDATE, idempotent=True, attributes=_TAG)
    async def invalidate_tag(self, tag: TagLike, reason: str = "tag") -> int:
        """Remove this project's entries carrying ``tag``."""
        return await self._invalidation.invalidate_tag(tag, self.project_id, reason)

    @guarded(CACHE_INVALIDATE, idempotent=True, attributes=_VIEW)
    async def invalidate(self, reason: str = "unspecified") -> int:
        """Remove everything cached for this project (its main document too)."""
        return await self._invalidation.invalidate_project(self.project_id, reason)

    @guarded(CACHE_READ, fallback=dict, idempotent=True, attributes=_VIEW)
    async def get_many(self, names: Iterable[str]) -> dict[str, Any]:
        """The values stored under ``names``, by name; misses are absent. One round trip."""
        return await self._cache.get_many_names(self.project_id, names)

    @guarded(CACHE_WRITE, fallback=lambda: 0, attributes=_VIEW)
    async def set_many(
        self, values: Mapping[str, Any], ttl: TTLLike | None = None, *, tags: Iterable[TagLike] = ()
    ) -> int:
        """Store each ``name: value`` (unversioned, one TTL and tag set for all); return how
        many were stored (0 while the backend is down). One round trip for the entries."""
        return await self._cache.put_many(self.project_id, values, ttl=ttl, tags=tags)


P = ParamSpec("P")
R = TypeVar("R")


def gated(
    operation: Callable[Concatenate[ProjectCacheView, P], Awaitable[R]],
) -> Callable[Concatenate[SessionProjectView, P], Coroutine[Any, Any, R]]:
    """``operation`` of the view, run once the view's gate let its project through."""

    @functools.wraps(operation)
    async def run(self: SessionProjectView, /, *args: P.args, **kwargs: P.kwargs) -> R:
        await self.gate(self.project_id)
        return await operation(self, *args, **kwargs)

    return run


class SessionProjectView(ProjectCacheView):
    """A ``ProjectCacheView`` whose every call first awaits its gate (the session's access
    check): ``cache_manager.for_session(session_id).project(project_id)``."""

    def __init__(
        self,
        project_id: ProjectId,
        cache: ProjectCacheService,
        invalidation: CacheInvalidationService,
        loader: LoaderService,
        runtime: OperationRuntime,
        gate: Gate,
    ) -> None:
        super().__init__(project_id, cache, invalidation, loader, runtime)
        self.gate = gate
        """Awaited with the project before each call; raises ``AccessDenied`` to refuse it."""

    get = gated(ProjectCacheView.get)
    get_entry = gated(ProjectCacheView.get_entry)
    set = gated(ProjectCacheView.set)
    read_or_load = gated(ProjectCacheView.read_or_load)  # get_or_load reads through it
    delete = gated(ProjectCacheView.delete)
    keys = gated(ProjectCacheView.keys)
    invalidate_tag = gated(ProjectCacheView.invalidate_tag)
    invalidate = gated(ProjectCacheView.invalidate)
    get_many = gated(ProjectCacheView.get_many)
    set_many = gated(ProjectCacheView.set_many)
