"""How storage names sessions: by the SHA-256 of their ID, never the ID.

``sess:{<digest>}`` is a session's record (its own slot); ``user:{<user>}:sessions`` one
user's index of session digests, and ``user:{<user>}:sessions:adds`` when each digest was
indexed lately (the user's slot: pruning spares a digest whose record is still being stored).
"""

from __future__ import annotations

import hashlib

from jeex_cache.core.errors import InvalidIdentifierError
from jeex_cache.core.identifiers import UserId, is_session_digest, parse_id, validate_token
from jeex_cache.core.keys import StorageKey, key

__all__ = [
    "checked_session_digest",
    "session_digest",
    "session_record",
    "user_session",
    "user_session_adds",
    "user_sessions",
]


def session_digest(session_id: str) -> str:
    """The SHA-256 hex digest of a session ID: all that storage and logs ever hold of it."""
    return checked_session_digest(validate_token(session_id, "session ID"))


def checked_session_digest(session_id: str) -> str:
    """``session_digest`` of an ID already checked (``is_session_id``): no second check on
    a validation's path."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_record(digest: str) -> StorageKey:
    """The session record named by ``digest`` (``session_digest`` of its ID); its own slot."""
    if not is_session_digest(digest):
        raise InvalidIdentifierError("a session digest is 64 lowercase hex characters")
    return key("sess", digest)


def user_session(session_id: str) -> StorageKey:
    """A session record, keyed by a SHA-256 of the session ID (never the raw ID)."""
    return session_record(session_digest(session_id))


def user_sessions(user_id: UserId) -> StorageKey:
    """Index of one user's sessions."""
    return key("user", str(parse_id(user_id, "user ID")), "sessions")


def user_session_adds(user_id: UserId) -> StorageKey:
    """When each digest of one user's index was added, for the last minute (by ms)."""
    return key("user", str(parse_id(user_id, "user ID")), "sessions", "adds")
