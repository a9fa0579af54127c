"""Domain services: the rules of the capabilities, over repositories given at construction.

``ProjectCacheService`` validates and encodes everything before the repository sees it, so a
bad input never reaches storage (nothing half-written). ``CacheInvalidationService`` holds
the invalidation strategies and their audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any
from uuid import UUID

from jeex_cache.core.codec import decode, encode
from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.identifiers import CanonicalId, ProjectId, id_text, parse_id, validate_name
from jeex_cache.core.resilience import NOT_HELD
from jeex_cache.core.text import validate_reason
from jeex_cache.core.ttl import TTL, TTLLike, as_ttl
from jeex_cache.project_cache.model import (
    MAX_VERSION,
    CacheTag,
    ProjectCache,
    WriteOutcome,
    WriteResult,
)
from jeex_cache.project_cache.repository import ProjectCacheRepository

__all__ = ["CacheInvalidationService", "ProjectCacheService", "TagLike"]


logger = logging.getLogger("jeex_cache.domain")


TagLike = CacheTag | str


MAX_TAGS = 32


NO_TAGS: frozenset[CacheTag] = frozenset()


class ProjectCacheService:
    """Reads and versioned writes of project cache entries."""

    def __init__(
        self, repository: ProjectCacheRepository, default_ttl: TTL, max_payload_bytes: int
    ) -> None:
        self._repository = repository
        self._default_ttl = default_ttl
        self._max_payload_bytes = max_payload_bytes
        self._peek: Callable[[CanonicalId, str | None], Any] | None = getattr(
            repository, "peek", None
        )
        # A repository that decodes in its own call (Redis's). Looked up on the class: a
        # wrapper forwarding unknown names (the near cache's) must not be bypassed.
        self._get_decoded: Callable[[CanonicalId, str | None], Coroutine[Any, Any, Any]] | None
        self._get_decoded = (
            getattr(repository, "get_decoded") if hasattr(type(repository), "get_decoded")  # noqa: B009
            else None
        )  # fmt: skip
        self.peeks = self._peek is not None
        """The repository answers some reads without I/O (a near cache): ``peek`` may hit."""

    def peek(self, project_id: ProjectId, name: str | None = None) -> Any:
        """``get``'s value if the repository holds it in process (a copy of its own, unless
        the near cache shares its values), else ``NOT_HELD``; no I/O, so a hit costs no
        await."""
        peek = self._peek
        if peek is None:
            return NOT_HELD
        # parse_id's own first step, inline: a hit has no call to spare
        pid = project_id if isinstance(project_id, UUID) else parse_id(project_id)
        if name is not None:
            validate_name(name, "entry name")
        return peek(pid, name)

    def get(self, project_id: ProjectId, name: str | None = None) -> Coroutine[Any, Any, Any]:
        """The cached value, or None on a miss; counts the access. Validates first (raising
        at the call), then hands back the repository's coroutine where it decodes itself."""
        pid = project_id if isinstance(project_id, UUID) else parse_id(project_id)
        if name is not None:
            validate_name(name, "entry name")
        get_decoded = self._get_decoded
        if get_decoded is not None:
            return get_decoded(pid, name)
        return self._get(pid, name)

    async def _get(self, pid: CanonicalId, name: str | None) -> Any:
        payload = await self._repository.get_and_touch(pid, name)
        return None if payload is None else decode(payload)

    async def get_entry(
        self, project_id: ProjectId, name: str | None = None
    ) -> ProjectCache | None:
        """The whole entry with version and statistics, or None; counts the access."""
        pid = parse_id(project_id)
        if name is not None:
            validate_name(name, "entry name")
        return await self._repository.get_entry(pid, name)

    def put(
        self,
        project_id: ProjectId,
        name: str | None,
        value: Any,
        *,
        ttl: TTLLike | None = None,
        tags: Iterable[TagLike] = (),
        version: int | None = None,
        fill: str | None = None,
    ) -> Coroutine[Any, Any, WriteResult]:
        """Store ``value`` unless a newer version is stored; validate everything first
        (raising at the call), then hand back the repository's coroutine.
        ``fill``: the token of the load whose value this is (REVOKED if since revoked)."""
        pid = project_id if isinstance(project_id, UUID) else parse_id(project_id)
        if name is not None:
            validate_name(name, "entry name")
        resolved_ttl = self._default_ttl if ttl is None else as_ttl(ttl)
        resolved_tags = as_tags(tags) if tags else NO_TAGS  # as_tags's first step, inline
        if version is not None and (type(version) is not int or not 0 <= version <= MAX_VERSION):
            raise InvalidInputError(f"version must be an integer in [0, 2**53), got {version!r}")
        payload = encode(value, self._max_payload_bytes)
        return self._repository.set_if_newer(
            pid, name, payload, resolved_ttl, resolved_tags, version, fill
        )

    async def delete(self, project_id: ProjectId, name: str | None = None) -> bool:
        """Remove one entry; True if it existed."""
        pid = parse_id(project_id)
        if name is not None:
            validate_name(name, "entry name")
        return await self._repository.delete(pid, name)

    async def list_names(self, project_id: ProjectId) -> list[str | None]:
        """Names of the project's live entries (None is the main document)."""
        return await self._repository.list_names(parse_id(project_id))

    async def get_many(self, project_ids: Iterable[ProjectId]) -> dict[CanonicalId, Any]:
        """The main documents of ``project_ids`` that are cached (misses absent)."""
        if isinstance(project_ids, str):
            raise InvalidInputError("project_ids must be a collection of project IDs")
        pids = list(dict.fromkeys(parse_id(pid) for pid in project_ids))
        payloads = await self._repository.get_many([(pid, None) for pid in pids]) if pids else []
        return {
            pid: decode(payload)
            for pid, payload in zip(pids, payloads, strict=True)
            if payload is not None
        }

    async def get_many_names(self, project_id: ProjectId, names: Iterable[str]) -> dict[str, Any]:
        """The entries of one project under ``names`` that are cached (misses absent)."""
        pid = parse_id(project_id)
        if isinstance(names, str):
            raise InvalidInputError("names must be a collection of entry names")
        unique = list(dict.fromkeys(validate_name(name, "entry name") for name in names))
        payloads = await self._repository.get_many([(pid, name) for name in unique])
        return {
            name: decode(payload)
            for name, payload in zip(unique, payloads, strict=True)
            if payload is not None
        }

    async def put_many(
        self,
        project_id: ProjectId,
        values: Mapping[str, Any],
        *,
        ttl: TTLLike | None = None,
        tags: Iterable[TagLike] = (),
    ) -> int:
        """Store each ``name: value`` of one project (unversioned); return how many were
        stored. Everything is validated and encoded before anything is written."""
        pid = parse_id(project_id)
        if not isinstance(values, Mapping):
            raise InvalidInputError("set_many takes a mapping of entry names to values")
        resolved_ttl = self._default_ttl if ttl is None else as_ttl(ttl)
        resolved_tags = as_tags(tags)
        entries: list[tuple[str | None, bytes]] = [
            (validate_name(name, "entry name"), encode(value, self._max_payload_bytes))
            for name, value in values.items()
        ]
        if not entries:
            return 0
        results = await self._repository.set_many(pid, entries, resolved_ttl, resolved_tags)
        return sum(result.outcome is WriteOutcome.STORED for result in results)


class CacheInvalidationService:
    """Invalidation by project or by tag, each with an audit log record."""

    def __init__(self, repository: ProjectCacheRepository) -> None:
        self._repository = repository

    async def invalidate_project(self, project_id: ProjectId, reason: str) -> int:
        """Remove everything cached for one project; return the count removed."""
        pid = parse_id(project_id)
        validate_reason(reason)
        removed = await self._repository.invalidate_project(pid)
        logger.info(
            "invalidated project %s (%s): %d entries",
            pid,
            reason,
            removed,
            extra={"project_id": str(pid), "reason": reason, "removed": removed},
        )
        return removed

    async def invalidate_tag(
        self, tag: TagLike, project_id: ProjectId | None = None, reason: str = "tag"
    ) -> int:
        """Remove entries carrying ``tag``, in one project or in all of them."""
        resolved = as_tag(tag)
        pid = None if project_id is None else parse_id(project_id)
        validate_reason(reason)
        removed = await self._repository.invalidate_tag(resolved, pid)
        logger.info(
            "invalidated tag %s%s (%s): %d entries",
            resolved.name,
            f" in project {pid}" if pid else "",
            reason,
            removed,
            extra={
                "tag": resolved.name,
                "project_id": str(pid) if pid else None,
                "reason": reason,
                "removed": removed,
            },
        )
        return removed

    async def invalidate_tag_in(
        self, tag: TagLike, project_ids: Iterable[ProjectId], reason: str = "tag"
    ) -> int:
        """Remove entries carrying ``tag`` in each of ``project_ids`` (one round trip)."""
        resolved = as_tag(tag)
        projects = sorted({parse_id(pid) for pid in project_ids}, key=id_text)
        validate_reason(reason)
        removed = await self._repository.invalidate_tag_in(resolved, projects) if projects else 0
        logger.info(
            "invalidated tag %s in %d projects (%s): %d entries",
            resolved.name,
            len(projects),
            reason,
            removed,
            extra={"tag": resolved.name, "projects": len(projects), "reason": reason,
                   "removed": removed},
        )  # fmt: skip
        return removed


def as_tag(tag: TagLike) -> CacheTag:
    """Accept a ``CacheTag`` or its name."""
    if isinstance(tag, CacheTag):
        return tag
    if isinstance(tag, str):
        return CacheTag(tag)
    raise InvalidInputError(f"a tag must be a CacheTag or a string, got {tag!r}")


def as_tags(tags: Iterable[TagLike]) -> frozenset[CacheTag]:
    """Validate a collection of tags (at most ``MAX_TAGS``)."""
    if not tags:
        return NO_TAGS
    if isinstance(tags, str | CacheTag):
        tags = (tags,)
    resolved = frozenset(as_tag(tag) for tag in tags)
    if len(resolved) > MAX_TAGS:
        raise InvalidInputError(f"an entry may carry at most {MAX_TAGS} tags, got {len(resolved)}")
    return resolved
