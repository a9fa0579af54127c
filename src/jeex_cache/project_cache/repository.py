"""What a project cache backend does: ``ProjectCacheRepository``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.model import CacheTag, ProjectCache, WriteResult

__all__ = ["ProjectCacheRepository"]


class ProjectCacheRepository(Protocol):
    """Versioned, tagged, expiring entries confined to one project each.

    ``name`` None addresses the project's main document, a string an entry of the
    project-scoped view. Payloads are encoded JSON (``bytes``).
    """

    async def get_and_touch(self, project_id: CanonicalId, name: str | None) -> bytes | None:
        """Return the payload and count the access, in one atomic step; None on a miss."""
        ...

    async def get_entry(self, project_id: CanonicalId, name: str | None) -> ProjectCache | None:
        """Return the whole entry (data, version, statistics) and count the access."""
        ...

    async def set_if_newer(
        self,
        project_id: CanonicalId,
        name: str | None,
        payload: bytes,
        ttl: TTL,
        tags: frozenset[CacheTag],
        version: int | None,
        fill: str | None = None,
    ) -> WriteResult:
        """Store unless the stored version is newer than ``version``; update tag indexes.

        ``version`` None stores unconditionally as the stored version plus one. ``fill`` is
        the token of the load whose value this is (``LoadStore.acquire``): the write is then
        REVOKED unless the token is still outstanding. Every write takes the entry's token.
        """
        ...

    async def delete(self, project_id: CanonicalId, name: str | None) -> bool:
        """Remove one entry and revoke its fill token; True if the entry existed."""
        ...

    async def invalidate_project(self, project_id: CanonicalId) -> int:
        """Remove every entry of the project and revoke every fill token of the project
        (first); return how many entries were removed."""
        ...

    async def invalidate_tag(self, tag: CacheTag, project_id: CanonicalId | None = None) -> int:
        """Remove the entries tagged ``tag`` in one project, or in every project if None,
        and revoke the fill tokens of loads whose value would carry the tag."""
        ...

    async def invalidate_tag_in(self, tag: CacheTag, project_ids: Sequence[CanonicalId]) -> int:
        """Remove the entries tagged ``tag`` in each of ``project_ids``; return the count."""
        ...

    async def list_names(self, project_id: CanonicalId) -> list[str | None]:
        """Names of the project's live entries (None stands for the main document)."""
        ...

    async def cleanup_expired(self) -> int:
        """Release what expired entries still hold; return how many items were removed."""
        ...

    async def get_many(self, slots: Sequence[tuple[CanonicalId, str | None]]) -> list[bytes | None]:
        """``get_and_touch`` of each (project, name), in order, in one round trip per node."""
        ...

    async def set_many(
        self,
        project_id: CanonicalId,
        entries: Sequence[tuple[str | None, bytes]],
        ttl: TTL,
        tags: frozenset[CacheTag],
    ) -> list[WriteResult]:
        """Unversioned ``set_if_newer`` of each (name, payload) of one project, in order."""
        ...
