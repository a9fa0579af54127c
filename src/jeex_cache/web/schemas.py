"""Request and response bodies of the reference service (they also document the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from jeex_cache import InvalidIdentifierError, ProjectCache, UserSession, parse_id

__all__ = [
    "CacheEntry",
    "CacheWrite",
    "ErrorBody",
    "Invalidated",
    "SessionCreate",
    "SessionInfo",
    "SessionIssued",
    "Stored",
    "WriteRefused",
]

MAX_VERSION = 2**53 - 1


class CacheWrite(BaseModel):
    """``PUT /projects/{id}/cache``: the document and how to store it."""

    model_config = ConfigDict(extra="forbid")

    data: Any = Field(description="Any JSON value.")
    ttl: float | None = Field(
        None,
        gt=0,
        strict=True,
        allow_inf_nan=False,
        description="Seconds to keep the document; CACHE_PROJECT_DATA_TTL when omitted.",
    )
    tags: list[str] = Field(
        default_factory=list, description="Tags for invalidation (letters, digits, '_.-')."
    )
    version: int | None = Field(
        None,
        ge=0,
        le=MAX_VERSION,
        strict=True,
        description="Refused (409) if older than the stored version; stored + 1 when omitted.",
    )


class Stored(BaseModel):
    """The document was written."""

    stored: Literal[True] = True
    version: int


class ErrorBody(BaseModel):
    """Every error response: the error's name and a message."""

    error: str
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        None, description="A 422's validation errors: loc, msg and type of each."
    )


class WriteRefused(ErrorBody):
    """A write that was not stored: stale (409, with the newer version) or backend down (503)."""

    stored: Literal[False] = False
    stored_version: int | None = None


class Invalidated(BaseModel):
    """How many entries an invalidation removed."""

    invalidated: int


class CacheEntry(BaseModel):
    """A project's cached document with its version, lifetime and access statistics."""

    project_id: UUID | str
    data: Any
    version: int
    created_at: datetime
    expires_at: datetime
    access_count: int
    last_accessed_at: datetime | None
    tags: list[str]

    @classmethod
    def of(cls, entry: ProjectCache) -> CacheEntry:
        """The response body of ``entry``."""
        return cls(
            project_id=entry.project_id,
            data=entry.data,
            version=entry.version,
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            access_count=entry.access_count,
            last_accessed_at=entry.last_accessed_at,
            tags=sorted(tag.name for tag in entry.tags),
        )


def _an_id(value: str | int) -> str | int:
    try:
        parse_id(value)
    except InvalidIdentifierError as exc:  # its text names the rule, never the value
        raise ValueError(str(exc)) from None
    return value


IdInput = Annotated[
    str | StrictInt,
    AfterValidator(_an_id),
    Field(
        description="A UUID, or 1 to 64 letters, digits, '_', '.' and '-' (an integer key, a "
        "slug), or a non-negative integer. A UUID's text in any case is that UUID."
    ),
]
"""A user or project ID in a request body, checked by the library's rules (422 if malformed)."""


class SessionCreate(BaseModel):
    """``POST /sessions`` (by the issuer): whom the session is for and what it may reach."""

    model_config = ConfigDict(extra="forbid")

    user_id: IdInput
    user_data: dict[str, Any] = Field(
        default_factory=dict, description="Any JSON object (SESSION_ISSUER_MAX_DATA_BYTES)."
    )
    project_access: list[IdInput] = Field(
        default_factory=list,
        max_length=UserSession.MAX_PROJECTS,
        description="The projects whose cache this session may use (SESSION_ISSUER_MAX_PROJECTS).",
    )


class SessionInfo(BaseModel):
    """A session as its holder may see it (never its ID: see ``SessionIssued``)."""

    fingerprint: str = Field(description="A prefix of the SHA-256 of the session ID.")
    user_id: UUID | str
    user_data: dict[str, Any]
    project_access: list[UUID | str]
    created_at: datetime
    last_activity: datetime
    expires_at: datetime = Field(description="Idle expiry; each request slides it.")
    absolute_expires_at: datetime = Field(description="The end, whatever the activity.")

    @classmethod
    def of(cls, session: UserSession) -> SessionInfo:
        """The response body of ``session``."""
        return cls(**_session_fields(session))


class SessionIssued(SessionInfo):
    """A new session (login or rotation): also set as an HttpOnly cookie."""

    session_id: str = Field(description="Send as 'Authorization: Bearer <id>' or the cookie.")

    @classmethod
    def issued(cls, session: UserSession) -> SessionIssued:
        """The response body of a session just issued (its ID included)."""
        assert session.session_id is not None
        return cls(session_id=session.session_id, **_session_fields(session))


def _session_fields(session: UserSession) -> dict[str, Any]:
    return {
        "fingerprint": session.fingerprint,
        "user_id": session.user_id,
        "user_data": session.user_data,
        "project_access": sorted(session.project_access, key=str),
        "created_at": session.created_at,
        "last_activity": session.last_activity,
        "expires_at": session.expires_at,
        "absolute_expires_at": session.absolute_expires_at,
    }
