"""The loaders' repository port: loader-aware reads, load metadata, and load leases.

A lease is the right to run an entry's loader, held by one caller of the whole deployment
for a few seconds at a time and extended while it runs; the others wait to be told it ended.
A holder that dies frees the entry when its lease runs out.
"""

from __future__ import annotations

import enum
from typing import Protocol
from uuid import UUID

from jeex_cache.project_cache.loading import LoadMark, StoredLoad

__all__ = ["Grant", "LeaseEnd", "LoadStore"]


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


class LoadStore(Protocol):
    """What the loaders need of a backend, beside the project cache's own writes."""

    async def read(
        self, project_id: UUID, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        """The entry with its load metadata (counting ``accesses``), or None on a miss."""

    async def acquire(
        self, project_id: UUID, name: str | None, token: str, ms: int, fresh_after: float
    ) -> Grant:
        """Take the entry's lease for ``ms`` unless someone holds it, or the entry is fresh
        beyond ``fresh_after`` (loaded meanwhile: a backend shared by processes checks, in one
        process the loaders' own flights make that impossible)."""

    async def extend(self, project_id: UUID, name: str | None, token: str, ms: int) -> bool:
        """Give the lease ``ms`` more if ``token`` still holds it."""

    async def release(
        self,
        project_id: UUID,
        name: str | None,
        token: str,
        end: LeaseEnd,
        mark: LoadMark | None = None,
    ) -> None:
        """Attach ``mark`` to the entry if it still holds ``mark.version``, then drop the
        lease ``token`` holds and tell every waiter how it ended (one step)."""

    async def wait(self, project_id: UUID, name: str | None, seconds: float) -> LeaseEnd:
        """Wait (at most ``seconds``) for the entry's lease to end; FREE if none is held."""
