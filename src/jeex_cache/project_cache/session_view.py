"""The project cache as one session may use it: ``cache_manager.for_session(session_id)``.

Every project operation first asks the session's record whether the session is live and
lists the project (one round trip, which also refreshes the session's activity) and raises
``AccessDenied`` if not; then it runs the project cache operation (one more round trip)
under the cache's own failure policy. Nothing is remembered between calls, so a grant or a
revocation applies to the very next call.

The check is one callable, ``SessionCacheView.allow``. The operations are
``ProjectCacheAPI``'s own methods behind it (``_checked``), so no signature is written here;
the key/value view (``project``) is a ``SessionProjectView``: ``ProjectCacheView``'s own
operations with ``allow`` as their gate. The manager is reached through ``ProjectCacheAPI``
and the ``AccessGate`` protocol, never through ``CacheManager``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id
from jeex_cache.project_cache.api import ProjectCacheAPI
from jeex_cache.project_cache.service import TagLike, as_tag
from jeex_cache.project_cache.view import SessionProjectView

__all__ = ["AccessGate", "SessionCacheView", "SessionProjectView"]

P = ParamSpec("P")
R = TypeVar("R")


class _Projects(Protocol):
    @property
    def project_access(self) -> frozenset[CanonicalId]: ...


class AccessGate(Protocol):
    """The session checks the view needs (``SessionAPI`` offers them)."""

    async def require_project_access(self, session_id: str, project_id: ProjectId) -> CanonicalId:
        """Return if the session may access the project; else raise ``AccessDenied``."""
        ...

    async def require_session(self, session_id: str) -> _Projects:
        """The live session; else raise ``AccessDenied``."""
        ...


def _checked(
    method: Callable[Concatenate[ProjectCacheAPI, CanonicalId, P], Awaitable[R]],
) -> Callable[Concatenate[SessionCacheView, ProjectId, P], Coroutine[Any, Any, R]]:
    """``method`` of the manager, run only once the session may access the project."""

    @functools.wraps(method)
    async def run(self: SessionCacheView, project: ProjectId, /, *a: P.args, **k: P.kwargs) -> R:
        return await method(self._manager, await self.allow(project), *a, **k)

    run.__doc__ = f"``CacheManager.{method.__name__}`` after the access check."
    return run


class SessionCacheView:
    """The manager's project operations, each allowed only for the session's projects."""

    __slots__ = ("_access", "_manager", "_session_id")

    def __init__(self, manager: ProjectCacheAPI, session_id: str, access: AccessGate) -> None:
        self._manager = manager
        self._session_id = session_id
        self._access = access

    def __repr__(self) -> str:  # never the raw session ID
        return f"{type(self).__name__}(<session>)"

    async def allow(self, project_id: ProjectId) -> CanonicalId:
        """The project's canonical ID if this session may access it; else raise ``AccessDenied``."""
        pid = parse_id(project_id)
        await self._access.require_project_access(self._session_id, pid)
        return pid

    get_project_data = _checked(ProjectCacheAPI.get_project_data)
    get_project_entry = _checked(ProjectCacheAPI.get_project_entry)
    read_project_data = _checked(ProjectCacheAPI.read_project_data)
    read_project_entry = _checked(ProjectCacheAPI.read_project_entry)
    cache_project_data = _checked(ProjectCacheAPI.cache_project_data)
    write_project_data = _checked(ProjectCacheAPI.write_project_data)
    delete_project_data = _checked(ProjectCacheAPI.delete_project_data)
    invalidate_project_cache = _checked(ProjectCacheAPI.invalidate_project_cache)
    list_project_keys = _checked(ProjectCacheAPI.list_project_keys)

    async def invalidate_by_tag(self, tag: TagLike, reason: str = "tag") -> int:
        """Remove entries carrying ``tag`` in every project this session may access (and in
        no other); two round trips: the session, then one pipeline over its projects."""
        resolved = as_tag(tag)
        projects = await self._projects()
        return await self._manager.invalidate_tag_in_projects(resolved, projects, reason)

    async def _projects(self) -> Iterable[CanonicalId]:
        return (await self._access.require_session(self._session_id)).project_access

    def project(self, project_id: ProjectId) -> SessionProjectView:
        """The key/value view of one project, each call allowed only while access stands."""
        view = self._manager.project(project_id, gate=self.allow)
        assert isinstance(view, SessionProjectView)
        return view
