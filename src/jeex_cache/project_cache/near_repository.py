"""``NearCachedRepository``: the Redis project cache repository with a ``NearCache`` in front.

Wiring picks it when ``CACHE_NEAR_CACHE_MAX_BYTES`` > 0 on a Redis backend. Payload reads
(``get_and_touch``, or ``peek`` with no await at all) are answered from the L1 when it holds
the key; a miss reads Redis with ``project_get_near.lua`` (the payload, its PTTL and its
tags, one round trip) and keeps the reply unless an invalidation came meanwhile. Every
write clears the keys it touches from the L1 before and after it reaches Redis. Whole entries
(``get_entry``, with their statistics) and listings always go to Redis. These reads do not
count accesses: a count is a write, and Redis would invalidate the key just read in every
process tracking it (``get_entry`` still counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from jeex_cache.backends import Backend
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.identifiers import CanonicalId, IdKey, id_key
from jeex_cache.core.keys import KeyCache, KeySpace
from jeex_cache.core.scripts import LuaScript
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache.model import CacheTag, ProjectCache, WriteResult
from jeex_cache.project_cache.near_cache import NearCache
from jeex_cache.project_cache.redis import RedisProjectCacheRepository
from jeex_cache.project_cache.tracking import InvalidationTracker

__all__ = ["NearCachedRepository", "near_cached"]

_GET_NEAR = LuaScript.load(__name__, "project_get_near")


class NearCachedRepository:
    """``ProjectCacheRepository`` over ``inner``, reads served from ``near`` when it can."""

    def __init__(
        self,
        inner: RedisProjectCacheRepository,
        executor: RedisExecutor,
        near: NearCache,
        tracker: InvalidationTracker,
    ) -> None:
        self.inner = inner
        self.near = near
        self.tracker = tracker
        self._redis = executor
        self._space: KeySpace = executor.keys
        self._keys = project_keys.entry_keys(self._space)
        # The main documents' keys by ``id_key`` alone: a hit builds no (slot, name) tuple.
        self._main_keys: KeyCache[IdKey, str] = KeyCache(lambda slot: self._keys[(slot, None)])

    def __getattr__(self, name: str) -> Any:
        # Operations added to the Redis repository later reach it unchanged (their writes
        # still reach the L1 through the invalidations Redis pushes).
        if name == "inner":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def key(self, project_id: CanonicalId, name: str | None) -> str:
        """The Redis key of one entry (the L1's key too)."""
        return self._keys[(id_key(project_id), name)]

    def _prefix(self, project_id: CanonicalId) -> str:
        return self._space.prefixed(project_keys.prefix(project_id))

    def peek(self, project_id: CanonicalId, name: str | None) -> Any:
        """The value if the L1 holds it (a hit, counted; see ``NearCache.peek``), else
        ``NOT_HELD``: no I/O, and no miss counted (``get_and_touch``, which a miss falls back
        to, counts it)."""
        slot = project_id.int if isinstance(project_id, UUID) else project_id  # id_key, inline
        key = self._main_keys[slot] if name is None else self._keys[(slot, name)]
        return self.near.peek(key)

    async def get_and_touch(self, project_id: CanonicalId, name: str | None) -> bytes | None:
        near = self.near
        key = self._keys[(id_key(project_id), name)]
        payload = near.get(key)
        if payload is not None:
            return payload
        ticket = near.begin(key)
        try:
            row = await self._redis.script(_GET_NEAR, (key,), ())
            if row is None:
                return None
            payload, ttl_ms, tags = row
            near.store(ticket, payload, int(ttl_ms), tags.decode())
            result: bytes = payload
            return result
        finally:
            near.end(ticket)

    async def get_entry(self, project_id: CanonicalId, name: str | None) -> ProjectCache | None:
        return await self.inner.get_entry(project_id, name)

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
        key = self.key(project_id, name)
        self.near.invalidate(key)
        try:
            return await self.inner.set_if_newer(
                project_id, name, payload, ttl, tags, version, fill
            )
        finally:
            self.near.invalidate(key)

    async def set_many(
        self,
        project_id: CanonicalId,
        entries: Sequence[tuple[str | None, bytes]],
        ttl: TTL,
        tags: frozenset[CacheTag],
    ) -> list[WriteResult]:
        keys = [self.key(project_id, name) for name, _ in entries]
        for key in keys:
            self.near.invalidate(key)
        try:
            return await self.inner.set_many(project_id, entries, ttl, tags)
        finally:
            for key in keys:
                self.near.invalidate(key)

    async def delete(self, project_id: CanonicalId, name: str | None) -> bool:
        key = self.key(project_id, name)
        self.near.invalidate(key)
        try:
            return await self.inner.delete(project_id, name)
        finally:
            self.near.invalidate(key)

    async def invalidate_project(self, project_id: CanonicalId) -> int:
        prefix = self._prefix(project_id)
        self.near.invalidate_where(prefix)
        try:
            return await self.inner.invalidate_project(project_id)
        finally:
            self.near.invalidate_where(prefix)

    async def invalidate_tag(self, tag: CacheTag, project_id: CanonicalId | None = None) -> int:
        prefix = self._space.prefixed(f"{project_keys.KIND}:")
        if project_id is not None:
            prefix = self._prefix(project_id)
        self.near.invalidate_where(prefix, tag.name)
        try:
            return await self.inner.invalidate_tag(tag, project_id)
        finally:
            self.near.invalidate_where(prefix, tag.name)

    async def invalidate_tag_in(self, tag: CacheTag, project_ids: Sequence[CanonicalId]) -> int:
        prefixes = tuple(self._prefix(pid) for pid in project_ids)
        self.near.invalidate_where(prefixes, tag.name)
        try:
            return await self.inner.invalidate_tag_in(tag, project_ids)
        finally:
            self.near.invalidate_where(prefixes, tag.name)

    async def list_names(self, project_id: CanonicalId) -> list[str | None]:
        return await self.inner.list_names(project_id)

    async def cleanup_expired(self) -> int:
        return await self.inner.cleanup_expired()


def near_cached(inner: RedisProjectCacheRepository, backend: Backend) -> NearCachedRepository:
    """``inner`` behind a near cache of ``CACHE_NEAR_CACHE_MAX_BYTES``, its tracking
    connections opened now in the background and closed with ``backend``."""
    executor = backend.executor
    assert executor is not None
    assert executor.router is not None
    nodes = executor.router.nodes
    settings = backend.settings
    near = NearCache(settings.near_cache_max_bytes, shared_values=settings.near_cache_shared_values)
    prefix = executor.keys.prefixed(f"{project_keys.KIND}:")
    # A busy server may answer a PING late: a second is lenient enough not to flush the L1
    # for it, and still bounds how long a silent link (a partition) goes unnoticed.
    limits = dataclasses.replace(nodes[0].limits, deadline=max(nodes[0].limits.deadline, 1.0))
    router = executor.router
    tracker = InvalidationTracker(
        near, lambda: [node.endpoint for node in router.nodes], prefix, limits
    )
    tracker.start()
    backend.on_close(tracker.close)
    return NearCachedRepository(inner, executor, near, tracker)
