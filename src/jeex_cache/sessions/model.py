"""A user's session and the projects it may access."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id

__all__ = ["UserSession", "assemble", "attach_id"]


@dataclass(frozen=True, slots=True)
class UserSession:
    """A user's session and the projects it may access.

    ``session_id`` is the raw ID, known only where the caller handed it in or it was just
    issued (create, validate, rotate); listings carry None. ``session_hash`` (SHA-256 hex of
    the ID) is what storage keys and logs hold. ``expires_at`` is the sliding idle expiry,
    never later than ``absolute_expires_at``. The raw ID and ``user_data`` are left out of
    ``repr``.
    """

    MAX_PROJECTS: ClassVar[int] = 1_000
    """The most projects one session may list."""

    session_id: str | None = field(repr=False)
    session_hash: str
    user_id: CanonicalId
    user_data: dict[str, Any] = field(repr=False)
    project_access: frozenset[CanonicalId]
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
    absolute_expires_at: datetime

    def with_id(self, session_id: str) -> UserSession:
        """This session carrying its raw ID (repositories never see it; the service adds it)."""
        return UserSession(
            session_id,
            self.session_hash,
            self.user_id,
            self.user_data,
            self.project_access,
            self.created_at,
            self.last_activity,
            self.expires_at,
            self.absolute_expires_at,
        )

    @property
    def fingerprint(self) -> str:
        """A short prefix of ``session_hash`` for logs and displays (never the raw ID)."""
        return self.session_hash[:12]

    def can_access(self, project_id: ProjectId) -> bool:
        """True if ``project_id`` is in the session's access list: any form of one ID
        (``42`` and ``"42"``, a UUID and its text in any case) counts; a malformed ID is not
        in the list and raises ``InvalidIdentifierError``."""
        return parse_id(project_id) in self.project_access


def attach_id(session: UserSession, session_id: str) -> UserSession:
    """``session`` carrying its raw ID, set in place rather than copied (``with_id``): only
    for a session a repository has just built for this one call, which nothing else holds."""
    object.__setattr__(session, "session_id", session_id)
    return session


_SETTERS = tuple(getattr(UserSession, f.name).__set__ for f in fields(UserSession))
(_SET_ID, _SET_HASH, _SET_USER, _SET_DATA, _SET_ACCESS,
 _SET_CREATED, _SET_LAST, _SET_EXPIRES, _SET_CAP) = _SETTERS  # fmt: skip
_new = object.__new__


def assemble(
    session_hash: str,
    user_id: CanonicalId,
    user_data: dict[str, Any],
    project_access: frozenset[CanonicalId],
    created_at: datetime,
    last_activity: datetime,
    expires_at: datetime,
    absolute_expires_at: datetime,
) -> UserSession:
    """``UserSession(None, ...)``, each field set by its slot rather than by the frozen
    ``__init__``'s ``object.__setattr__`` (half the cost): a repository builds one for
    every validation."""
    session: UserSession = _new(UserSession)
    _SET_ID(session, None)
    _SET_HASH(session, session_hash)
    _SET_USER(session, user_id)
    _SET_DATA(session, user_data)
    _SET_ACCESS(session, project_access)
    _SET_CREATED(session, created_at)
    _SET_LAST(session, last_activity)
    _SET_EXPIRES(session, expires_at)
    _SET_CAP(session, absolute_expires_at)
    return session
