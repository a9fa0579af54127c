"""The loaders' part of ``CacheManager``: ``get_or_load_project_data`` and warming."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast
from uuid import UUID

from jeex_cache.core.ttl import TTLLike
from jeex_cache.project_cache import warm as warming
from jeex_cache.project_cache.api import ProjectCacheServices
from jeex_cache.project_cache.loading import Loader, LoadResult, VersionOf
from jeex_cache.project_cache.service import TagLike

__all__ = ["LoaderAPI"]


class LoaderAPI:
    """Cache-aside done once: single-flight loads, early refresh, stale values, warming.

    Backend failures never raise here: the loader runs and its value is returned uncached.
    The loader's own exception reaches its caller (see ``read_or_load_project_data``).
    """

    _project: ProjectCacheServices  # set by ``CacheManager.initialize()``

    async def get_or_load_project_data(
        self,
        project_id: UUID | str,
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
        project_id: UUID | str,
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
        project_ids: Iterable[UUID | str],
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
