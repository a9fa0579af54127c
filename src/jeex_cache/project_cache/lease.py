"""The loaders' repository port: loader-aware reads, load metadata, and load leases.

A lease is the right to run an entry's loader, held by one caller of the whole deployment
for a few seconds at a time and extended while it runs; the others wait to be told it ended.
A holder that dies frees the entry when its lease runs out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.loading import LoadMark, StoredLoad
from jeex_cache.project_cache.model import CacheTag

__all__ = ["FillTerms", "Grant", "LeaseEnd", "LoadStore"]


class LeaseEnd(enum.Enum):
    """How a wait for another caller's lease ended."""

    FREE = "free"  # no lease was held: look again
    LOADED = "loaded"  # the holder cached a value
    FAILED = "failed"  # the holder's loader raised
    TIMEOUT = "timeout"  # nothing heard within the wait: look again (the holder may be dead)


class Grant(enum.Enum):
    """The answer to a lease request."""

    TAKEN = "taken"  # the caller holds the lease now
    HELD = "held"  # another caller holds it
    FRESH = "fresh"  # not taken: a fresh value is cached already (loaded meanwhile)


@dataclass(frozen=True, slots=True)
class FillTerms:
    """What the loaded value will be written with: its tags (a tag invalidation revokes the
    load's token) and the entry's TTL (how long the tags' registries list the project)."""

    tags: frozenset[CacheTag]
    ttl: TTL


class LoadStore(Protocol):
    """What the loaders need of a backend, beside the project cache's own writes."""

    async def read(
        self, project_id: CanonicalId, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        """The entry with its load metadata (counting ``accesses``), or None on a miss."""

    async def acquire(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        ms: int,
        fresh_after: float,
        fill: FillTerms,
    ) -> Grant:
        """Take the entry's lease for ``ms`` unless someone holds it, or the entry is fresh
        beyond ``fresh_after`` (loaded meanwhile: a backend shared by processes checks, in one
        process the loaders' own flights make that impossible). With the lease, ``token``
        becomes the entry's fill token (``ProjectCacheRepository.set_if_newer``'s ``fill``),
        which any invalidation of the entry, or of a tag of ``fill.tags``, revokes."""

    async def extend(self, project_id: CanonicalId, name: str | None, token: str, ms: int) -> bool:
        """Give the lease ``ms`` more if ``token`` still holds it."""

    async def release(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        end: LeaseEnd,
        mark: LoadMark | None = None,
    ) -> None:
        """Attach ``mark`` to the entry if it still holds ``mark.version``, then drop the
        lease and the fill token ``token`` holds and tell every waiter how it ended (one
        step)."""

    async def wait(self, project_id: CanonicalId, name: str | None, seconds: float) -> LeaseEnd:
        """Wait (at most ``seconds``) for the entry's lease to end; FREE if none is held."""
