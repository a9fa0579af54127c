"""The user session part of ``CacheManager``: the spec's session methods and what an
application needs beside them. Sessions fail closed: with the backend down no session is
returned and every access check denies; a revocation that could not be stored raises."""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Mapping
from functools import cached_property
from typing import Any

from jeex_cache.core.errors import AccessDenied
from jeex_cache.core.identifiers import CanonicalId, ProjectId, UserId
from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTLLike
from jeex_cache.sessions.changes import SessionChanges
from jeex_cache.sessions.failures import SESSION, SESSION_REVOKE
from jeex_cache.sessions.model import UserSession
from jeex_cache.sessions.service import SessionManagementService

__all__ = ["SessionAPI"]

# Span attributes: a session by its hash prefix only (see ``guarded``).
_SESSION = {"session": "session_id"}
_SESSION_PROJECT = {"session": "session_id", "project_id": "project_id"}
_USER = {"user_id": "user_id"}


class SessionAPI:
    """Sessions with project access rights (``CACHE_USER_SESSION_TTL`` idle timeout,
    ``CACHE_SESSION_ABSOLUTE_TTL`` cap, ``CACHE_MAX_SESSIONS_PER_USER``)."""

    runtime: OperationRuntime
    _sessions: SessionManagementService  # set by ``CacheManager.initialize()``

    @cached_property
    def session_changes(self) -> SessionChanges:
        """This process's notices of sessions that lost rights (revoked, rotated, a project
        removed): long-lived readers watch them to re-check their access at once."""
        return SessionChanges()

    @guarded(SESSION, attributes=_USER)
    async def create_user_session(
        self,
        user_id: UserId,
        user_data: Mapping[str, Any] | None = None,
        project_access: Iterable[ProjectId] = (),
    ) -> UserSession | None:
        """Issue a session (a fresh 256-bit ID in ``session_id``); None if the backend failed.

        Call it after your application has authenticated the user. Creating one more than
        ``CACHE_MAX_SESSIONS_PER_USER`` ends the user's oldest live session.
        """
        return await self._sessions.create(user_id, user_data, project_access)

    @guarded(SESSION, attributes=_SESSION)
    def validate_user_session(self, session_id: str) -> Coroutine[Any, Any, UserSession | None]:
        """The live session, its last activity and idle expiry refreshed in the same round
        trip; None if the ID is unknown, malformed, expired, revoked, or the backend failed."""
        # Returns the service's coroutine for the guard to await: one frame less per call.
        return self._sessions.validate(session_id)

    @guarded(SESSION, attributes=_SESSION)
    async def extend_session(
        self, session_id: str, ttl: TTLLike | None = None
    ) -> UserSession | None:
        """Validate, and keep the session at least ``ttl`` (default the idle timeout) from
        now, never past its absolute lifetime; None as for ``validate_user_session``."""
        return await self._sessions.extend(session_id, ttl)

    @guarded(SESSION, fallback=lambda: False, attributes=_SESSION_PROJECT)
    async def grant_project_access(self, session_id: str, project_id: ProjectId) -> bool:
        """Add a project to the session's access list; False if no live session (or the
        backend failed: then nothing was granted)."""
        return await self._sessions.set_project_access(session_id, project_id, True)

    @guarded(SESSION_REVOKE, attributes=_SESSION_PROJECT)
    async def revoke_project_access(self, session_id: str, project_id: ProjectId) -> bool:
        """Remove a project from the access list; True if it was there. Raises
        ``BackendError`` if the backend failed (the access may still stand)."""
        removed = await self._sessions.set_project_access(session_id, project_id, False)
        self.session_changes.session_changed(session_id)
        return removed

    @guarded(SESSION, fallback=lambda: False, attributes=_SESSION)
    async def update_session_data(self, session_id: str, changes: Mapping[str, Any]) -> bool:
        """Set top-level keys of the session's user data, keeping the others; False if no
        live session or the backend failed. Concurrent updates of different keys all land."""
        return await self._sessions.update_data(session_id, changes)

    @guarded(SESSION, attributes=_SESSION)
    async def rotate_session(self, session_id: str) -> UserSession | None:
        """Move the session to a new ID (after a login or a privilege change); the old ID is
        dead at once. None if it was not live or the backend failed (log in again);
        ``outcome_of(cache.rotate_session, session_id)`` tells the two apart."""
        rotated = await self._sessions.rotate(session_id)
        if rotated is not None:
            self.session_changes.session_changed(session_id)
        return rotated

    @guarded(SESSION_REVOKE, attributes=_SESSION)
    async def revoke_user_session(self, session_id: str, reason: str = "unspecified") -> bool:
        """End a session at once (logout); True if it was live. Raises ``BackendError`` if
        the backend failed: the session may still be live."""
        revoked = await self._sessions.revoke(session_id, reason)
        self.session_changes.session_changed(session_id)
        return revoked

    @guarded(SESSION_REVOKE, attributes=_USER)
    async def revoke_all_user_sessions(self, user_id: UserId, reason: str = "unspecified") -> int:
        """End every session of a user (logout everywhere); return how many were live.
        Raises ``BackendError`` if the backend failed."""
        revoked = await self._sessions.revoke_all(user_id, reason)
        self.session_changes.user_changed(user_id)
        return revoked

    @guarded(SESSION, fallback=list, attributes=_USER)
    async def list_user_sessions(self, user_id: UserId) -> list[UserSession]:
        """A user's live sessions, oldest first; their ``session_id`` is None (only hashes
        are stored), ``fingerprint`` tells them apart. [] if the backend failed."""
        return await self._sessions.list_for_user(user_id)

    async def require_project_access(self, session_id: str, project_id: ProjectId) -> CanonicalId:
        """The session's user ID if it may access ``project_id`` (one round trip, refreshing
        its activity); else ``AccessDenied``, also when the backend cannot be asked."""
        user_id = await self._authorize(session_id, project_id)
        if user_id is None:
            raise AccessDenied(
                "the session store is unavailable: access is denied",
                reason=AccessDenied.UNAVAILABLE,
            )
        return user_id

    async def has_project_access(self, session_id: str, project_id: ProjectId) -> bool:
        """``require_project_access`` as a yes or no."""
        try:
            await self.require_project_access(session_id, project_id)
        except AccessDenied:
            return False
        return True

    async def require_session(self, session_id: str) -> UserSession:
        """``validate_user_session`` that raises ``AccessDenied`` instead of returning None,
        with the reason (``invalid_session`` or ``unavailable``)."""
        session = await self._session_or_denial(session_id)
        if session is None:
            raise AccessDenied(
                "the session store is unavailable: access is denied",
                reason=AccessDenied.UNAVAILABLE,
            )
        return session

    @guarded(SESSION, attributes=_SESSION_PROJECT)
    async def _authorize(self, session_id: str, project_id: ProjectId) -> CanonicalId | None:
        return await self._sessions.authorize(session_id, project_id)

    @guarded(SESSION, attributes=_SESSION)
    async def _session_or_denial(self, session_id: str) -> UserSession | None:
        session = await self._sessions.validate(session_id)
        if session is None:
            raise AccessDenied(
                "the session is unknown, expired or revoked", reason=AccessDenied.INVALID_SESSION
            )
        return session
