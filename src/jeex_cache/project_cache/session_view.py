"""The project cache as one session may use it: ``cache_manager.for_session(session_id)``.

Every project operation first asks the session's record whether the session is live and
lists the project (one round trip, which also refreshes the session's activity) and raises
``AccessDenied`` if not; then it runs the project cache operation (one more round trip)
under the cache's own failure policy. Nothing is remembered between calls, so a grant or a
revocation applies to the very next call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from jeex_cache.core.identifiers import parse_uuid
from jeex_cache.core.ttl import TTLLike
from jeex_cache.project_cache.model import ProjectCache, WriteResult
from jeex_cache.project_cache.service import TagLike, as_tag
from jeex_cache.project_cache.view import ProjectCacheView

if TYPE_CHECKING:
    from jeex_cache.manager import CacheManager

__all__ = ["SessionCacheView", "SessionProjectView"]


class SessionCacheView:
    """The manager's project operations, each allowed only for the session's projects."""

    __slots__ = ("_manager", "_session_id")

    def __init__(self, manager: CacheManager, session_id: str) -> None:
        self._manager = manager
        self._session_id = session_id

    def __repr__(self) -> str:  # never the raw session ID
        return f"{type(self).__name__}(<session>)"

    async def allow(self, project_id: UUID | str) -> UUID:
        """The project's UUID if this session may access it; else raise ``AccessDenied``."""
        pid = parse_uuid(project_id)
        await self._manager.require_project_access(self._session_id, pid)
        return pid

    async def get_project_data(self, project_id: UUID | str) -> Any:
        """``CacheManager.get_project_data`` after the access check."""
        return await self._manager.get_project_data(await self.allow(project_id))

    async def get_project_entry(self, project_id: UUID | str) -> ProjectCache | None:
        """``CacheManager.get_project_entry`` after the access check."""
        return await self._manager.get_project_entry(await self.allow(project_id))

    async def cache_project_data(
        self,
        project_id: UUID | str,
        data: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> bool:
        """``CacheManager.cache_project_data`` after the access check."""
        pid = await self.allow(project_id)
        return await self._manager.cache_project_data(pid, data, ttl, tags=tags, version=version)

    async def write_project_data(
        self,
        project_id: UUID | str,
        data: Any,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> WriteResult:
        """``CacheManager.write_project_data`` after the access check."""
        pid = await self.allow(project_id)
        return await self._manager.write_project_data(pid, data, ttl, tags=tags, version=version)

    async def delete_project_data(self, project_id: UUID | str) -> bool:
        """``CacheManager.delete_project_data`` after the access check."""
        return await self._manager.delete_project_data(await self.allow(project_id))

    async def invalidate_project_cache(
        self, project_id: UUID | str, reason: str = "unspecified"
    ) -> int:
        """``CacheManager.invalidate_project_cache`` after the access check."""
        pid = await self.allow(project_id)
        return await self._manager.invalidate_project_cache(pid, reason)

    async def list_project_keys(self, project_id: UUID | str) -> list[str]:
        """``CacheManager.list_project_keys`` after the access check."""
        return await self._manager.list_project_keys(await self.allow(project_id))

    async def invalidate_by_tag(self, tag: TagLike, reason: str = "tag") -> int:
        """Remove entries carrying ``tag`` in every project this session may access (and in
        no other); two round trips: the session, then one pipeline over its projects."""
        resolved = as_tag(tag)
        session = await self._manager.require_session(self._session_id)
        return await self._manager.invalidate_tag_in_projects(
            resolved, session.project_access, reason
        )

    def project(self, project_id: UUID | str) -> SessionProjectView:
        """The key/value view of one project, each call allowed only while access stands."""
        return SessionProjectView(self, self._manager.project(project_id))


class SessionProjectView:
    """``ProjectCacheView`` whose every call first checks the session's access."""

    __slots__ = ("_scope", "_view")

    def __init__(self, scope: SessionCacheView, view: ProjectCacheView) -> None:
        self._scope = scope
        self._view = view

    @property
    def project_id(self) -> UUID:
        """The project this view is confined to."""
        return self._view.project_id

    async def get(self, name: str) -> Any:
        """``ProjectCacheView.get`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.get(name)

    async def get_entry(self, name: str) -> ProjectCache | None:
        """``ProjectCacheView.get_entry`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.get_entry(name)

    async def set(
        self,
        name: str,
        value: Any,
        *,
        ttl: TTLLike | None = None,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
    ) -> WriteResult:
        """``ProjectCacheView.set`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.set(name, value, ttl=ttl, tags=tags, version=version)

    async def delete(self, name: str) -> bool:
        """``ProjectCacheView.delete`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.delete(name)

    async def keys(self) -> list[str]:
        """``ProjectCacheView.keys`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.keys()

    async def invalidate_tag(self, tag: TagLike, reason: str = "tag") -> int:
        """``ProjectCacheView.invalidate_tag`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.invalidate_tag(tag, reason)

    async def invalidate(self, reason: str = "unspecified") -> int:
        """``ProjectCacheView.invalidate`` after the access check."""
        await self._scope.allow(self.project_id)
        return await self._view.invalidate(reason)
