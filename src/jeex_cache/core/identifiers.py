"""Validation of every identifier that ends up inside a storage key.

A key is only as isolated as its parts: an identifier holding ``:``, ``{``, ``*``, spaces or
control characters could reach another tenant's keys, break a Redis Cluster hash tag or act
as a glob. Every part therefore goes through one of these functions before a key is built.
"""

from __future__ import annotations

import re
from uuid import UUID

from jeex_cache.core.errors import InvalidIdentifierError

__all__ = [
    "MAX_NAME_LENGTH",
    "SESSION_ID_BYTES",
    "is_session_digest",
    "is_session_id",
    "parse_uuid",
    "validate_name",
    "validate_token",
]

MAX_NAME_LENGTH = 100

# Names (entry names, tags, scopes, queue names): letters, digits and ``_ . -``.
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
# Opaque tokens (session IDs, free-form client identifiers): URL-safe base64 plus ``@ + =``.
_TOKEN = re.compile(r"[A-Za-z0-9_.\-@+=]+")
# Session IDs are exactly what ``secrets.token_urlsafe(SESSION_ID_BYTES)`` returns: 256 bits
# as 43 URL-safe base64 characters. Anything else was never issued, so it is never looked up.
SESSION_ID_BYTES = 32
_SESSION_ID = re.compile(r"[A-Za-z0-9_\-]{43}")
_SESSION_DIGEST = re.compile(r"[0-9a-f]{64}")


def parse_uuid(value: UUID | str, what: str = "project ID") -> UUID:
    """Return ``value`` as a UUID, or raise ``InvalidIdentifierError`` naming ``what``."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and len(value) <= 45:
        try:
            return UUID(value)
        except ValueError:
            pass
    raise InvalidIdentifierError(f"{what} must be a UUID, got {_shown(value)}")


def is_session_id(value: object) -> bool:
    """True if ``value`` has the form of an ID this library issues (43 URL-safe characters)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def is_session_digest(value: object) -> bool:
    """True if ``value`` is a SHA-256 hex digest (how storage names a session)."""
    return isinstance(value, str) and _SESSION_DIGEST.fullmatch(value) is not None


def validate_name(value: str, what: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Check a human-chosen name (letters, digits, ``_ . -``) and return it unchanged."""
    return _check(value, _NAME, what, max_length, "letters, digits, '_', '.' and '-'")


def validate_token(value: str, what: str, max_length: int = 128) -> str:
    """Check an opaque token (URL-safe base64 alphabet plus ``@ + = .``) and return it."""
    return _check(value, _TOKEN, what, max_length, "letters, digits and '_-.@+='")


def _check(value: str, pattern: re.Pattern[str], what: str, max_length: int, allowed: str) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifierError(f"{what} must be a string, got {type(value).__name__}")
    if not 1 <= len(value) <= max_length:
        raise InvalidIdentifierError(
            f"{what} must be 1 to {max_length} characters long, got {len(value)}"
        )
    if pattern.fullmatch(value) is None:
        raise InvalidIdentifierError(f"{what} may only hold {allowed}; got {_shown(value)}")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
