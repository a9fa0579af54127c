"""Request and response bodies of the reference service (they also document the OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from jeex_cache.domain.entities import ProjectCache

__all__ = ["CacheEntry", "CacheWrite", "ErrorBody", "Invalidated", "Stored", "WriteRefused"]

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

    project_id: UUID
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
