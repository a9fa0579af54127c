"""How storage names a session: the SHA-256 of its ID, never the ID."""

from __future__ import annotations

import hashlib

from jeex_cache.core.identifiers import (
    validate_token,
)

__all__ = ["session_digest"]


def session_digest(session_id: str) -> str:
    """The SHA-256 hex digest of a session ID: all that storage and logs ever hold of it."""
    token = validate_token(session_id, "session ID")
    return hashlib.sha256(token.encode()).hexdigest()
