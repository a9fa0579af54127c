"""What a load returns, and what a loader-aware read finds: the loaders' value objects."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["LoadMark", "LoadResult", "LoadSource", "Loader", "StoredLoad", "VersionOf"]

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
