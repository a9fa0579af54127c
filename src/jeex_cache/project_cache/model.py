"""The project cache's entries, read and write results, tags, and what a load returns."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id, validate_name
from jeex_cache.core.results import ReadOutcome, ReadResult

__all__ = [
    "MAX_VERSION",
    "CacheTag",
    "LoadMark",
    "LoadResult",
    "LoadSource",
    "Loader",
    "ProjectCache",
    "ReadOutcome",
    "ReadResult",
    "StoredLoad",
    "VersionOf",
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


# -- loads: ``get_or_load`` and what a loader-aware read finds ------------------------------

Loader = Callable[[], Awaitable[Any]]
"""An ``async`` callable that returns the data to cache (e.g. a database query)."""

VersionOf = Callable[[Any], int]
"""The version of a loaded value (e.g. ``lambda row: row["version"]``): its fill is then a
versioned write, refused when a newer version is stored."""


class LoadSource(enum.Enum):
    """Where the value of a ``LoadResult`` came from."""

    HIT = "hit"  # a fresh cached value (possibly loaded by another caller or process)
    LOADED = "loaded"  # this call's flight ran the loader and cached its value
    STALE = "stale"  # past its TTL, within ``stale_ttl``: revalidating, or the loader failed
    UNCACHED = "uncached"  # the backend failed: the loader's value, not cached
    # this call's loader ran, but the entry was invalidated or written after the load
    # started (or holds a newer version): the loader's value, not cached
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The value of ``read_or_load_project_data`` and where it came from.

    ``error`` is the loader's exception when a stale value was served in its place
    (stale-if-error); None otherwise.
    """

    value: Any
    source: LoadSource
    error: BaseException | None = None

    @property
    def stale(self) -> bool:
        """True when ``value`` is past its TTL (served within ``stale_ttl``)."""
        return self.source is LoadSource.STALE


@dataclass(frozen=True, slots=True)
class StoredLoad:
    """A cached entry as the loader reads it: the value, and when it stops being fresh.

    ``fresh_until`` is the logical expiry (seconds, the manager's clock); ``delta`` how long
    its load took (seconds; 0 for a value written by ``cache_project_data``, which XFetch then
    never refreshes early).
    """

    value: Any
    fresh_until: float
    delta: float


@dataclass(frozen=True, slots=True)
class LoadMark:
    """The load metadata attached to the entry version a loader wrote."""

    version: int
    fresh_until: float
    delta: float
