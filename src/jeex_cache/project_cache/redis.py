"""``ProjectCacheRepository`` on Redis: each operation is one Lua script, one round trip.

Layout, under ``<ns>:proj:{<project>}:`` (one hash tag, one cluster slot per project):
``data`` and ``kv:<name>`` entry hashes (fields d, ver, ct, ex, ac, la, tg), ``index`` (entry
keys by expiry ms), ``tags`` (tag names by latest expiry) and ``tag:<name>`` (tagged entry keys
by expiry). ``<ns>:tag:{<name>}:projects`` lists the projects holding a tag, for invalidation
across projects.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from jeex_cache.core.codec import decode
from jeex_cache.core.errors import VersionLimitError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.keys import KeySpace
from jeex_cache.core.scripts import EncodedArg, LuaScript
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache.model import CacheTag, ProjectCache, WriteOutcome, WriteResult

__all__ = ["CHUNK", "TAG_CHUNK", "RedisProjectCacheRepository"]

_SET = LuaScript.load(__name__, "project_set")
_GET = LuaScript.load(__name__, "project_get")
_GET_ENTRY = LuaScript.load(__name__, "project_get_entry")
_DELETE = LuaScript.load(__name__, "project_delete")
_INVALIDATE = LuaScript.load(__name__, "project_invalidate")
_INVALIDATE_TAG = LuaScript.load(__name__, "project_invalidate_tag")
_LIST = LuaScript.load(__name__, "project_list")
_PRUNE = LuaScript.load(__name__, "index_prune")

_PIPELINE_CHUNK = 500
CHUNK = 500  # the most entries one script call touches, so that no call holds the server long
TAG_CHUNK = 200  # a tag step reads each entry's tags before removing it: fewer per call
_KEY_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _ProjectKeys:
    """The namespaced keys of one project, built once (``project_keys``, ``KeySpace``)."""

    prefix: str
    data: str
    index: str
    tags: str
    member: str  # the project ID as the tag registries list it

    @classmethod
    def of(cls, keys: KeySpace, project_id: UUID) -> _ProjectKeys:
        return cls(
            prefix=keys.prefixed(project_keys.prefix(project_id)),
            data=keys(project_keys.data(project_id)),
            index=keys(project_keys.index(project_id)),
            tags=keys(project_keys.tags(project_id)),
            member=str(project_id),
        )


class RedisProjectCacheRepository:
    """Project cache entries in Redis; see the module docstring for the key layout."""

    def __init__(self, executor: RedisExecutor) -> None:
        self._redis = executor
        self._space = executor.keys
        self._keys_by_project: dict[int, _ProjectKeys] = {}

    def _keys(self, project_id: UUID) -> _ProjectKeys:
        # Formatting a UUID and building the keys costs more than the rest of a read's
        # Python work; busy projects are few, so the strings are kept (bounded). Keyed by
        # the UUID's int: UUID.__hash__ and __eq__ are Python code, an int's are not.
        keys = self._keys_by_project.get(project_id.int)
        if keys is None:
            if len(self._keys_by_project) >= _KEY_CACHE_SIZE:
                self._keys_by_project.clear()
            keys = _ProjectKeys.of(self._space, project_id)
            self._keys_by_project[project_id.int] = keys
        return keys

    def _key(self, project_id: UUID, name: str | None) -> str:
        if name is None:
            return self._keys(project_id).data
        return self._space(project_keys.entry(project_id, name))

    def get_and_touch(
        self, project_id: UUID, name: str | None
    ) -> Coroutine[Any, Any, bytes | None]:
        # The hottest path: _key() inlined, and the executor's coroutine handed back as it
        # is rather than awaited in a coroutine of our own (one frame less per read).
        keys = self._keys_by_project.get(project_id.int)
        key = keys.data if keys is not None and name is None else self._key(project_id, name)
        return self._redis.script(_GET, (key,), ())

    async def get_entry(self, project_id: UUID, name: str | None) -> ProjectCache | None:
        row = await self._redis.script(_GET_ENTRY, (self._key(project_id, name),), ())
        if row is None:
            return None
        payload, version, created, expires, count, last, tags = row
        return ProjectCache(
            project_id=project_id,
            name=name,
            data=decode(payload),
            version=int(version),
            created_at=_from_ms(created),
            expires_at=_from_ms(expires),
            access_count=int(count),
            last_accessed_at=_from_ms(last) if last else None,
            tags=frozenset(CacheTag(t) for t in tags.decode().split("|") if t),
        )

    async def set_if_newer(
        self,
        project_id: UUID,
        name: str | None,
        payload: bytes,
        ttl: TTL,
        tags: frozenset[CacheTag],
        version: int | None,
    ) -> WriteResult:
        project = self._keys(project_id)
        keys = [self._key(project_id, name), project.index, project.tags]
        marked = ""
        args: list[EncodedArg] = [payload, ttl.milliseconds, "" if version is None else version]
        if tags:
            ordered = sorted(tags, key=lambda tag: tag.name)
            for tag in ordered:
                keys.append(self._space(project_keys.tag_index(project_id, tag)))
                keys.append(self._space(project_keys.tag_projects(tag)))
            names = [tag.name for tag in ordered]
            marked = f"|{'|'.join(names)}|"
            args += [marked, project.member, *names]
        else:
            args += [marked, project.member]
        stored, current = await self._redis.script(_SET, keys, args)
        if stored == -1:
            raise VersionLimitError()
        outcome = WriteOutcome.STORED if stored else WriteOutcome.STALE
        return WriteResult(outcome, int(current))

    async def delete(self, project_id: UUID, name: str | None) -> bool:
        keys = (self._key(project_id, name), self._keys(project_id).index)
        return bool(await self._redis.script(_DELETE, keys, ()))

    async def invalidate_project(self, project_id: UUID) -> int:
        project = self._keys(project_id)
        keys, args = (project.index, project.tags), (project.prefix, CHUNK)
        removed, left = await self._redis.script(_INVALIDATE, keys, args)
        # One bounded step per call, other clients running between steps. The steps are
        # capped by what the first one left, so concurrent writers cannot keep it going.
        for _ in range(-(-left // CHUNK) + 1):
            if not left:
                break
            step, left = await self._redis.script(_INVALIDATE, keys, args)
            removed += step
        return int(removed)

    async def invalidate_tag(self, tag: CacheTag, project_id: UUID | None = None) -> int:
        if project_id is not None:
            return await self.invalidate_tag_in(tag, [project_id])
        registry = self._space(project_keys.tag_projects(tag))
        members = await self._redis.command("ZRANGE", registry, 0, -1)
        return await self.invalidate_tag_in(tag, [UUID(member.decode()) for member in members])

    async def invalidate_tag_in(self, tag: CacheTag, project_ids: Sequence[UUID]) -> int:
        # Each call is one bounded step in one project; projects with more to remove are
        # asked again, pipelined, each at most as often as its first step's remainder needs
        # (so concurrent writers cannot keep it going).
        pending = list(dict.fromkeys(project_ids))
        steps_left: dict[UUID, int] = {}
        removed = 0
        while pending:
            chunk, pending = pending[:_PIPELINE_CHUNK], pending[_PIPELINE_CHUNK:]
            calls = [self._tag_call(pid, tag) for pid in chunk]
            replies = await self._redis.scripts_pipelined(_INVALIDATE_TAG, calls)
            again: list[UUID] = []
            for pid, (step, left) in zip(chunk, replies, strict=True):
                removed += step
                steps = steps_left.setdefault(pid, -(-left // TAG_CHUNK) + 1) - 1
                steps_left[pid] = steps
                if left and steps >= 0:
                    again.append(pid)
            pending = again + pending
        return removed

    def _tag_call(self, project_id: UUID, tag: CacheTag) -> tuple[list[str], tuple[str, int]]:
        project = self._keys(project_id)
        tag_index = self._space(project_keys.tag_index(project_id, tag))
        return [tag_index, project.index, project.tags], (tag.name, TAG_CHUNK)

    async def list_names(self, project_id: UUID) -> list[str | None]:
        project = self._keys(project_id)
        prefix_length = len(project.prefix)
        seen: dict[bytes, None] = {}
        cursor: tuple[EncodedArg, EncodedArg] = ("", "")
        while True:  # one bounded page per call, each starting after the last
            more, last, score, *keys = await self._redis.script(
                _LIST, (project.index,), (cursor[0], CHUNK, cursor[1])
            )
            seen.update(dict.fromkeys(keys))
            if not more:
                break
            cursor = (last, score)
        names: list[str | None] = []
        for raw in seen:
            suffix = raw.decode()[prefix_length:]
            names.append(None if suffix == "data" else suffix.removeprefix("kv:"))
        return names

    async def cleanup_expired(self) -> int:
        # Redis expires entries itself; what lingers are index members of expired entries
        # (pruned on each write to that index otherwise). An admin walk over our namespace,
        # each index pruned in bounded steps.
        removed = 0
        patterns = (self._space.glob(project_keys.KIND), self._space.glob(project_keys.TAG_KIND))
        for pattern in patterns:
            cursor = 0
            while True:
                cursor, keys = await self._redis.command(
                    "SCAN", cursor, "MATCH", pattern, "TYPE", "zset", "COUNT", 500
                )
                while keys:
                    calls = [((key,), (CHUNK,)) for key in keys]
                    counts = await self._redis.scripts_pipelined(_PRUNE, calls)
                    removed += sum(counts)
                    keys = [k for k, n in zip(keys, counts, strict=True) if n == CHUNK]
                if cursor == 0:
                    break
        return removed


def _from_ms(value: bytes) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
