"""Validation of every identifier that ends up inside a storage key.

A key is only as isolated as its parts: an identifier holding ``:``, ``{``, ``*``, spaces or
control characters could reach another tenant's keys, break a Redis Cluster hash tag or act
as a glob. Every part therefore goes through one of these functions before a key is built.
"""

from __future__ import annotations

import contextlib
import re
from typing import TypeAlias
from uuid import UUID

from jeex_cache.core.errors import InvalidIdentifierError

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "SCOPE_LENGTH",
    "SESSION_ID_BYTES",
    "CanonicalId",
    "IdKey",
    "ProjectId",
    "UserId",
    "id_key",
    "id_of_key",
    "id_text",
    "is_session_digest",
    "is_session_id",
    "parse_id",
    "scope_id",
    "scope_of",
    "validate_name",
    "validate_token",
]

MAX_NAME_LENGTH = 100
MAX_ID_LENGTH = 64

ProjectId: TypeAlias = UUID | str | int
"""What a project ID may be given as: a UUID, a string (a slug, a UUID's text) or an int."""
UserId: TypeAlias = UUID | str | int
"""What a user ID may be given as; the same rules as ``ProjectId``."""
CanonicalId: TypeAlias = UUID | str
"""A project or user ID after ``parse_id``: a ``UUID``, or a string that is no UUID's text."""

# Project and user IDs that are no UUID: letters, digits and ``_ . -`` (an integer key, a slug).
_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_ID_CHAR = re.compile(r"[A-Za-z0-9_.\-]")
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")
_UUID_DASHED = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_INT_BOUND = 10**MAX_ID_LENGTH  # the first int of 65 digits (and no huge int is printed)

# Names (entry names, tags, scopes, queue names): letters, digits and ``_ . -``.
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
# Opaque tokens (session IDs, free-form client identifiers): URL-safe base64 plus ``@ + =``.
_TOKEN = re.compile(r"[A-Za-z0-9_.\-@+=]+")
# Session IDs are exactly what ``secrets.token_urlsafe(SESSION_ID_BYTES)`` returns: 256 bits
# as 43 URL-safe base64 characters. Anything else was never issued, so it is never looked up.
SESSION_ID_BYTES = 32
_SESSION_ID = re.compile(r"[A-Za-z0-9_\-]{43}")
_SESSION_DIGEST = re.compile(r"[0-9a-f]{64}")


def parse_id(value: object, what: str = "project ID") -> CanonicalId:
    """The canonical form of a project or user ID, or ``InvalidIdentifierError`` naming ``what``.

    - a ``UUID``, or a string in a UUID form (32 hex digits in any case, with or without
      dashes, braces or a ``urn:uuid:`` prefix): that ``UUID``, so one project never has two
      key spaces;
    - any other string of 1 to 64 letters, digits and ``_ . -``: itself, exactly (``"0042"``
      and ``"42"`` are two projects), unless it starts with ``-`` (an option to a shell
      command) or is only dots (a path segment such as ``..``);
    - a non-negative ``int`` (not a ``bool``): its decimal string, under the string rules.

    Nothing else is an ID. The canonical text (``id_text``) never holds ``: { } @ * ? [`` or
    white space, and is a UUID's only when the ID is that UUID, so no ID can spell a key of
    another, and the text parses back to the same ID.
    """
    if isinstance(value, UUID):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _INT_BOUND:
        value = str(value)
    if isinstance(value, str):
        if len(value) == 36 and _UUID_DASHED.fullmatch(value) is not None:  # the usual form
            return UUID(value)
        if _ID.fullmatch(value) is not None:  # 1 to 64 of [A-Za-z0-9_.-]
            if len(value) >= 32:  # maybe 32 hex digits, with dashes
                digits = value.replace("-", "")
                if len(digits) == 32 and _HEX32.fullmatch(digits) is not None:
                    return UUID(hex=digits)
            if value[0] != "-" and value.strip(".") != "":
                return value
        elif len(value) <= MAX_ID_LENGTH:
            as_uuid = _uuid_text(value)  # braces, urn:uuid:
            if as_uuid is not None:
                return as_uuid
    raise InvalidIdentifierError(
        f"{what} must be a UUID or 1 to {MAX_ID_LENGTH} letters, digits, '_', '.' and '-' "
        f"(not '-' first, not only dots); got {_described(value, _ID_CHAR)}"
    )


def id_text(value: CanonicalId) -> str:
    """The text of a canonical ID in keys and records: a UUID's lower-case dashed form, a
    string ID itself. ``parse_id`` reads it back to the same ID."""
    return str(value)


def _uuid_text(value: str) -> UUID | None:
    """The UUID ``value`` spells, if it is one of the forms ``parse_id`` documents."""
    body = value[9:] if value[:9].lower() == "urn:uuid:" else value
    if body[:1] == "{" and body[-1:] == "}":
        body = body[1:-1]
    digits = body.replace("-", "")
    if _HEX32.fullmatch(digits) is None:
        return None
    return UUID(hex=digits)


def is_session_id(value: object) -> bool:
    """True if ``value`` has the form of an ID this library issues (43 URL-safe characters)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


def is_session_digest(value: object) -> bool:
    """True if ``value`` is a SHA-256 hex digest (how storage names a session)."""
    return isinstance(value, str) and _SESSION_DIGEST.fullmatch(value) is not None


# A caller's task or progress ID in a project's scope: ``@<project>@<the caller's ID>``, where
# ``<project>`` is a UUID's 32 hex digits (the form of the first release, kept so stored IDs
# still resolve) or a string project ID itself. Neither holds ``@``, and a string ID is never
# 32 hex digits (those are a UUID), so the first two ``@`` delimit one project's scope.
_SCOPED = re.compile(r"@([A-Za-z0-9_.\-]{1,64})@")
SCOPE_LENGTH = MAX_ID_LENGTH + 2
"""The most a project's scope adds to an ID (``@``, the project, ``@``)."""


def scope_id(value: str, project: CanonicalId | None) -> str:
    """``value`` in ``project``'s scope: unchanged without a project, ``@<project>@<value>``
    with one, so two projects' equal IDs never name one record.

    An ID scoped already is a full name: kept as it is, but refused for another project.
    ``value`` must be validated already.
    """
    owner, _ = scope_of(value)
    if value.startswith("@"):
        if project is not None and owner != project:
            raise InvalidIdentifierError("the ID is scoped to another project than the one given")
        return value
    return value if project is None else f"@{_scope_text(project)}@{value}"


def scope_of(value: str) -> tuple[CanonicalId | None, str]:
    """The project a (scoped) ID belongs to, or None, and the caller's own ID within it.

    An ID that starts with ``@`` but not with a project's scope in its canonical form (an
    upper-case UUID, say) is refused: one record never has two names.
    """
    if not value.startswith("@"):
        return None, value
    match = _SCOPED.match(value)
    if match is not None:
        with contextlib.suppress(InvalidIdentifierError):
            project = parse_id(match.group(1))
            if _scope_text(project) == match.group(1):
                return project, value[match.end() :]
    raise InvalidIdentifierError("an ID that starts with '@' must start with a project's scope")


def _scope_text(project: CanonicalId) -> str:
    return project.hex if isinstance(project, UUID) else project


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


IdKey: TypeAlias = int | str
"""A canonical ID as a cheap dict key (``id_key``)."""


def id_key(value: CanonicalId) -> IdKey:
    """A cheap dict key for a canonical ID: a UUID's int (``UUID.__hash__`` and ``__eq__`` are
    Python code, an int's are not), a string ID itself. An int never equals a string."""
    return value.int if isinstance(value, UUID) else value


def id_of_key(key: IdKey) -> CanonicalId:
    """The canonical ID ``id_key`` made ``key`` of."""
    return UUID(int=key) if isinstance(key, int) else key
