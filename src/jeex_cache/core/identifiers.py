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
    "SCOPE_LENGTH",
    "SESSION_ID_BYTES",
    "is_session_digest",
    "is_session_id",
    "parse_uuid",
    "scope_id",
    "scope_of",
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
    raise InvalidIdentifierError(f"{what} must be a UUID, got {_described(value, _UUID_CHAR)}")


def is_session_id(value: object) -> bool:
    """True if ``value`` has the form of an ID this library issues (43 URL-safe characters)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def is_session_digest(value: object) -> bool:
    """True if ``value`` is a SHA-256 hex digest (how storage names a session)."""
    return isinstance(value, str) and _SESSION_DIGEST.fullmatch(value) is not None


# A caller's task or progress ID in a project's scope: ``@<project hex>@<the caller's ID>``.
_SCOPED = re.compile(r"@([0-9a-f]{32})@")
SCOPE_LENGTH = 34
"""What a project's scope adds to an ID (``@``, 32 hex digits, ``@``)."""


def scope_id(value: str, project: UUID | None) -> str:
    """``value`` in ``project``'s scope: unchanged without a project, ``@<hex>@<value>`` with
    one, so two projects' equal IDs never name one record.

    An ID scoped already is a full name: kept as it is, but refused for another project.
    ``value`` must be validated already.
    """
    match = _SCOPED.match(value)
    if match is not None:
        if project is not None and match.group(1) != project.hex:
            raise InvalidIdentifierError("the ID is scoped to another project than the one given")
        return value
    return value if project is None else f"@{project.hex}@{value}"


def scope_of(value: str) -> tuple[UUID | None, str]:
    """The project a (scoped) ID belongs to, or None, and the caller's own ID within it."""
    match = _SCOPED.match(value)
    if match is None:
        return None, value
    return UUID(hex=match.group(1)), value[match.end() :]


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
        raise InvalidIdentifierError(
            f"{what} may only hold {allowed}; got {_described(value, pattern)}"
        )
    return value


def _described(value: object, allowed: re.Pattern[str]) -> str:
    """What is wrong with ``value``, never the value: an identifier may be a secret (an API
    key), and error texts reach logs, spans and HTTP answers. Its length, and its first
    character out of ``allowed``."""
    if not isinstance(value, str):
        return type(value).__name__
    first = next((char for char in value if not allowed.fullmatch(char)), None)
    shown = "" if first is None else f" holding {first!r}"
    return f"{len(value)} characters{shown}"


_UUID_CHAR = re.compile(r"[0-9A-Fa-f{}\-]")
