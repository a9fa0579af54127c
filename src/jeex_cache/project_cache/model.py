"""The project cache's entries, read and write results, and tags."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id, validate_name
from jeex_cache.core.results import ReadOutcome, ReadResult

__all__ = [
    "MAX_VERSION",
    "CacheTag",
    "ProjectCache",
    "ReadOutcome",
    "ReadResult",
    "WriteOutcome",
    "WriteResult",
]

MAX_VERSION = 2**53 - 1  # versions travel through Lua, whose numbers are doubles


@dataclass(frozen=True, slots=True)
class ProjectCache:
    """One cached document of a project, with its version and access statistics.

    ``name`` is None for the project's main document (``cache_project_data``) and the entry
    name for entries of the project-scoped view. A write creates a fresh entry: it resets
    ``created_at`` and the access statistics.
    """

    project_id: CanonicalId
    name: str | None
    data: Any
    version: int
    created_at: datetime
    expires_at: datetime
    access_count: int = 0
    last_accessed_at: datetime | None = None
    tags: frozenset[CacheTag] = field(default_factory=frozenset)

    def ttl_remaining(self, now: datetime) -> float:
        """Seconds until the entry expires (0 when it already has)."""
        return max(0.0, (self.expires_at - now).total_seconds())

    def is_expired(self, now: datetime) -> bool:
        """True once ``now`` has reached the expiry time."""
        return now >= self.expires_at


class WriteOutcome(enum.Enum):
    """What became of a cache write."""

    STORED = "stored"
    STALE = "stale"  # refused: the stored version is newer than the one written
    REVOKED = "revoked"  # a load's fill refused: the entry was invalidated or written since
    FAILED = "failed"  # the backend failed; nothing is known to be written


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The result of a versioned write; truthy when the value was stored.

    ``version`` is the version now stored under the key (the written one when STORED, the
    newer one that refused the write when STALE, the stored one or None when REVOKED, None
    when FAILED).
    """

    outcome: WriteOutcome
    version: int | None

    @property
    def stored(self) -> bool:
        """True when the value was written."""
        return self.outcome is WriteOutcome.STORED

    def __bool__(self) -> bool:
        return self.outcome is WriteOutcome.STORED


@dataclass(frozen=True, slots=True)
class CacheTag:
    """A name that groups cache entries for invalidation, e.g. ``CacheTag("pricing")``."""

    name: str

    def __post_init__(self) -> None:
        validate_name(self.name, "tag")

    @classmethod
    def project(cls, project_id: ProjectId) -> CacheTag:
        """The tag of everything derived from one project, in that project or any other."""
        return cls(f"project.{parse_id(project_id)}")

    def __str__(self) -> str:
        return self.name
