"""``SessionManagementService``: issuing, validating, granting, rotating and revoking sessions.

The rules live here: IDs of 256 bits from ``secrets`` (strict: an ID of any other form was
never issued and is never looked up), user data validated and encoded before storage, and one
structured audit record (logger ``jeex_cache.audit``) per create, validate failure, grant,
revoke, rotation, eviction and access denial (those an outage causes: the first at once, then
a count per interval, ``outage_audit.py``). Records carry the user ID and a 12-character
prefix of the session's SHA-256, never the raw ID.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any
from uuid import UUID

from jeex_cache.core.codec import encode
from jeex_cache.core.errors import (
    AccessDenied,
    BackendError,
    InvalidInputError,
    PayloadTooLargeError,
    SerializationError,
)
from jeex_cache.core.identifiers import (
    SESSION_ID_BYTES,
    CanonicalId,
    ProjectId,
    UserId,
    is_session_id,
    parse_id,
)
from jeex_cache.core.text import validate_reason
from jeex_cache.core.ttl import TTL, TTLLike, as_ttl
from jeex_cache.sessions.keys import checked_session_digest, session_digest
from jeex_cache.sessions.model import UserSession, attach_id
from jeex_cache.sessions.outage_audit import OutageAudit
from jeex_cache.sessions.repository import UserSessionRepository, user_data_size

__all__ = ["MAX_PROJECTS_PER_SESSION", "SessionManagementService", "audit"]

audit_logger = logging.getLogger("jeex_cache.audit")

MAX_PROJECTS_PER_SESSION = UserSession.MAX_PROJECTS
_ISSUE_ATTEMPTS = 3  # a 256-bit collision is not expected even once; the loop only bounds it


def audit(event: str, fingerprint: str | None, user_id: CanonicalId | None, **fields: Any) -> None:
    """One structured audit record: ``event``, the user, the session's hash prefix, details."""
    details = " ".join(f"{name}={value}" for name, value in fields.items())
    audit_logger.info(
        "%s user=%s session=%s%s",
        event,
        user_id,
        fingerprint,
        f" {details}" if details else "",
        extra={
            "audit": event,
            "user_id": None if user_id is None else str(user_id),
            "session": fingerprint,
            **{name: str(value) for name, value in fields.items()},
        },
    )


class SessionManagementService:
    """Session lifecycle over a ``UserSessionRepository``."""

    def __init__(
        self,
        repository: UserSessionRepository,
        *,
        idle_ttl: TTL,
        absolute_ttl: TTL,
        max_per_user: int,
        max_data_bytes: int,
    ) -> None:
        self._repository = repository
        self._outage = OutageAudit(audit)  # outage denials: a count per interval
        self._idle_ttl = idle_ttl
        self._absolute_ttl = absolute_ttl
        self._max_per_user = max_per_user
        self._max_data_bytes = max_data_bytes

    async def create(
        self,
        user_id: UserId,
        user_data: Mapping[str, Any] | None,
        project_access: Iterable[ProjectId],
    ) -> UserSession:
        """Issue a new session; the user's oldest sessions beyond the cap are evicted."""
        uid = parse_id(user_id, "user ID")
        data = self._encode_data({} if user_data is None else user_data)
        projects = _projects(project_access)
        for _ in range(_ISSUE_ATTEMPTS):
            session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
            created = await self._repository.create(
                session_digest(session_id),
                uid,
                data,
                projects,
                self._idle_ttl,
                self._absolute_ttl,
                self._max_per_user,
            )
            if created is not None:
                break
        else:  # pragma: no cover - needs three 256-bit collisions in a row
            raise BackendError("could not issue an unused session ID")
        session, evicted = created
        audit("session.created", session.fingerprint, uid, projects=len(projects))
        for digest in evicted:
            audit("session.evicted", digest[:12], uid, reason="max_sessions_per_user")
        return attach_id(session, session_id)

    def validate(self, session_id: str) -> Coroutine[Any, Any, UserSession | None]:
        """The live session, its activity and idle expiry refreshed; None otherwise."""
        # The touch's own coroutine, for the caller to await: one frame less per validation.
        return self._touch(session_id, None, "session.validate_failed")

    async def extend(self, session_id: str, ttl: TTLLike | None) -> UserSession | None:
        """Like ``validate``, and the idle expiry is at least ``ttl`` from now (default the
        idle timeout), never past the absolute cap."""
        resolved = self._idle_ttl if ttl is None else as_ttl(ttl)
        return await self._touch(session_id, resolved, "session.extend_failed")

    async def _touch(
        self, session_id: str, extend_to: TTL | None, failure: str
    ) -> UserSession | None:
        digest = self._digest(session_id, failure)
        if digest is None:
            return None
        try:
            session = await self._repository.touch(digest, extend_to)
        except BackendError:
            self._outage.denied(failure, digest[:12])
            raise
        if session is None:
            audit(failure, digest[:12], None, reason="unknown_expired_or_revoked")
            return None
        return attach_id(session, session_id)  # a repository builds a session per call

    async def authorize(self, session_id: str, project_id: ProjectId) -> CanonicalId:
        """The session's user ID if it may access ``project_id``; else raise ``AccessDenied``.

        Refreshes the session's activity like ``validate``. A backend failure is audited as a
        denial and re-raised (the caller's failure policy turns it into a denial too).
        """
        pid = parse_id(project_id)
        digest = self._digest(session_id, "session.access_denied", project_id=pid)
        if digest is None:
            raise AccessDenied("the session ID is malformed", reason=AccessDenied.INVALID_SESSION)
        try:
            found = await self._repository.touch_for_project(digest, pid)
        except BackendError:
            self._outage.denied("session.access_denied", digest[:12], project_id=pid)
            raise
        if found is None:
            audit("session.access_denied", digest[:12], None, project_id=pid, reason="no_session")
            raise AccessDenied(
                "the session is unknown, expired or revoked", reason=AccessDenied.INVALID_SESSION
            )
        user_id, granted = found
        if not granted:
            denied = "session.access_denied"
            audit(denied, digest[:12], user_id, project_id=pid, reason="not_granted")
            raise AccessDenied(
                f"the session has no access to project {pid}",
                reason=AccessDenied.PROJECT_NOT_GRANTED,
            )
        return user_id

    async def set_project_access(
        self, session_id: str, project_id: ProjectId, allowed: bool
    ) -> bool:
        """Grant (``allowed``) or revoke one project. A grant is True if the session is live;
        a revocation is True if the project had been granted."""
        pid = parse_id(project_id)
        event = "session.access_granted" if allowed else "session.access_revoked"
        digest = self._digest(session_id, event, project_id=pid)
        if digest is None:
            return False
        found = await self._repository.set_project_access(digest, pid, allowed)
        if found is None:
            audit(event, digest[:12], None, project_id=pid, result="no_session")
            return False
        user_id, changed = found
        audit(event, digest[:12], user_id, project_id=pid, changed=changed)
        return True if allowed else changed

    async def update_data(self, session_id: str, changes: Mapping[str, Any]) -> bool:
        """Set top-level keys of the user data (others are kept); False if no live session."""
        data = self._encode_data(changes)
        digest = self._digest(session_id, "session.update_failed")
        if digest is None:
            return False
        return await self._repository.update_data(digest, data, self._max_data_bytes)

    async def revoke(self, session_id: str, reason: str) -> bool:
        """End the session at once; True if it was live."""
        validate_reason(reason)
        digest = self._digest(session_id, "session.revoke_failed")
        if digest is None:
            return False
        user_id = await self._repository.delete(digest)
        audit("session.revoked", digest[:12], user_id, reason=reason, found=user_id is not None)
        return user_id is not None

    async def revoke_all(self, user_id: UserId, reason: str) -> int:
        """End every session of the user; return how many were live."""
        uid = parse_id(user_id, "user ID")
        validate_reason(reason)
        removed = await self._repository.delete_for_user(uid)
        audit("session.revoked_all", None, uid, reason=reason, removed=removed)
        return removed

    async def rotate(self, session_id: str) -> UserSession | None:
        """Give the session a new ID; the old one is dead at once. None if it was not live."""
        digest = self._digest(session_id, "session.rotate_failed")
        if digest is None:
            return None
        new_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        session = await self._repository.rename(digest, session_digest(new_id))
        if session is None:
            audit("session.rotate_failed", digest[:12], None, reason="unknown_expired_or_revoked")
            return None
        audit("session.rotated", digest[:12], session.user_id, new_session=session.fingerprint)
        return attach_id(session, new_id)

    async def list_for_user(self, user_id: UserId) -> list[UserSession]:
        """The user's live sessions, oldest first (``session_id`` None: only hashes are kept)."""
        return await self._repository.list_for_user(parse_id(user_id, "user ID"))

    def _digest(self, session_id: object, event: str, **fields: Any) -> str | None:
        if not is_session_id(session_id):
            audit(event, None, None, reason="malformed_session_id", **fields)
            return None
        assert isinstance(session_id, str)
        return checked_session_digest(session_id)  # is_session_id checked it

    def _encode_data(self, data: Mapping[str, Any]) -> dict[str, bytes]:
        if not isinstance(data, Mapping):
            kind = type(data).__name__
            raise InvalidInputError(
                f"user data must be a JSON object (a dict with string keys), got {kind}"
            )
        encoded: dict[str, bytes] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise SerializationError(f"user data keys must be strings, got {key!r}")
            try:
                encoded[key] = encode(value, self._max_data_bytes)
            except PayloadTooLargeError:
                raise PayloadTooLargeError(
                    f"a user data value is over the limit of {self._max_data_bytes} bytes "
                    "(JEEX_CACHE_SESSION_MAX_DATA_BYTES)"
                ) from None
        size = user_data_size(encoded)
        if size > self._max_data_bytes:
            raise PayloadTooLargeError(
                f"user data is {size} bytes, over the limit of {self._max_data_bytes} "
                "(JEEX_CACHE_SESSION_MAX_DATA_BYTES)"
            )
        return encoded


def _projects(project_access: Iterable[ProjectId]) -> frozenset[CanonicalId]:
    if isinstance(project_access, str | UUID | int):
        project_access = (project_access,)
    projects = frozenset(parse_id(project) for project in project_access)
    if len(projects) > MAX_PROJECTS_PER_SESSION:
        raise InvalidInputError(
            f"a session may list at most {MAX_PROJECTS_PER_SESSION} projects, got {len(projects)}"
        )
    return projects
