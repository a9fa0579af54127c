"""``ProjectCacheRepository`` on Redis: each operation is one Lua script, one round trip.

Layout, under ``<ns>:proj:{<project>}:`` (one hash tag, one cluster slot per project):
``data`` and ``kv:<name>`` entry hashes (fields d, ver, ct, ex, ac, la, tg), ``index`` (entry
keys by expiry ms), ``tags`` (tag names by latest expiry) and ``tag:<name>`` (tagged entry keys
by expiry), ``fills`` (the fill tokens of loads in flight, by entry key: every write, delete
and invalidation revokes them). ``<ns>:tag:{<name>}:projects`` lists the projects holding a
tag (or a load in flight carrying it), for invalidation across projects.
"""

from __future__ import annotations

import itertools
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from jeex_cache.core.codec import decode
from jeex_cache.core.errors import VersionLimitError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.identifiers import CanonicalId, IdKey, id_key, id_of_key, parse_id
from jeex_cache.core.keys import KeyCache, KeySpace
from jeex_cache.core.scripts import EncodedArg, LuaScript, ScriptCall
from jeex_cache.core.steps import one_pipeline_keeps_order
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache.model import CacheTag, ProjectCache, WriteOutcome, WriteResult

__all__ = ["CHUNK", "TAG_CHUNK", "RedisProjectCacheRepository", "register_calls"]

_SET = LuaScript.load(__name__, "project_set")
_GET = LuaScript.load(__name__, "project_get")
_GET_ENTRY = LuaScript.load(__name__, "project_get_entry")
_DELETE = LuaScript.load(__name__, "project_delete")
_REGISTER = LuaScript.load(__name__, "tag_register")
_INVALIDATE_BEGIN = LuaScript.load(__name__, "project_invalidate_begin")
_INVALIDATE = LuaScript.load(__name__, "project_invalidate")
_TAG_BEGIN = LuaScript.load(__name__, "project_invalidate_tag_begin")
_INVALIDATE_TAG = LuaScript.load(__name__, "project_invalidate_tag")
_LIST = LuaScript.load(__name__, "project_list")
_PRUNE = LuaScript.load(__name__, "index_prune")

_PIPELINE_CHUNK = 500
CHUNK = 500  # the most entries one script call touches, so that no call holds the server long
TAG_CHUNK = 200  # a tag step reads each entry's tags before removing it: fewer per call


@dataclass(frozen=True, slots=True)
class _ProjectKeys:
    """The namespaced keys of one project, built once (``project_keys``, ``KeySpace``)."""

    prefix: str
    data: str
    index: str
    tags: str
    fills: str
    member: str  # the project ID as the tag registries list it

    @classmethod
    def of(cls, keys: KeySpace, project_id: CanonicalId) -> _ProjectKeys:
        return cls(
            prefix=keys.prefixed(project_keys.prefix(project_id)),
            data=keys(project_keys.data(project_id)),
            index=keys(project_keys.index(project_id)),
            tags=keys(project_keys.tags(project_id)),
            fills=keys(project_keys.fills(project_id)),
            member=str(project_id),
        )


class RedisProjectCacheRepository:
    """Project cache entries in Redis; see the module docstring for the key layout."""

    def __init__(self, executor: RedisExecutor) -> None:
        self._redis = executor
        self._space = executor.keys
        # Keyed by ``id_key(project_id)`` (``KeyCache``); the strings of busy projects are kept.
        self._keys_by_project: KeyCache[IdKey, _ProjectKeys] = KeyCache(
            lambda pid: _ProjectKeys.of(self._space, id_of_key(pid))
        )

    def _keys(self, project_id: CanonicalId) -> _ProjectKeys:
        return self._keys_by_project[id_key(project_id)]

    def _key(self, project_id: CanonicalId, name: str | None) -> str:
        if name is None:
            return self._keys_by_project[id_key(project_id)].data
        return self._space(project_keys.entry(project_id, name))

    def get_and_touch(
        self, project_id: CanonicalId, name: str | None
    ) -> Coroutine[Any, Any, bytes | None]:
        # The hottest path: _key() inlined, and the executor's coroutine handed back as it
        # is rather than awaited in a coroutine of our own (one frame less per read).
        key = (
            self._keys_by_project[id_key(project_id)].data
            if name is None
            else self._key(project_id, name)
        )
        return self._redis.script(_GET, (key,), ())

    async def get_entry(self, project_id: CanonicalId, name: str | None) -> ProjectCache | None:
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

    def get_decoded(self, project_id: CanonicalId, name: str | None) -> Coroutine[Any, Any, Any]:
        """``get_and_touch``, its payload decoded by the executor (None on a miss): the
        service hands this coroutine on, so a read has no coroutine of its own above it."""
        if name is None:  # id_key's step inline: the hottest path has no call to spare
            pid = project_id.int if isinstance(project_id, UUID) else project_id
            key = self._keys_by_project[pid].data
        else:
            key = self._key(project_id, name)
        return self._redis.script(_GET, (key,), (), decode, recurring=True)  # nil: a miss

    def set_if_newer(
        self,
        project_id: CanonicalId,
        name: str | None,
        payload: bytes,
        ttl: TTL,
        tags: frozenset[CacheTag],
        version: int | None,
        fill: str | None = None,
    ) -> Coroutine[Any, Any, WriteResult]:
        # An untagged write is one script whose reply the executor turns into the result:
        # its coroutine is handed back, not awaited in one of ours (one frame less).
        project = self._keys_by_project[id_key(project_id)]
        key = project.data if name is None else self._key(project_id, name)
        if not tags:  # _set_call's untagged keys and arguments, inline
            keys = (key, project.index, project.tags, project.fills)
            args = (payload, ttl.milliseconds, "" if version is None else version, "", fill or "")
            return self._redis.script(_SET, keys, args, _write_result)
        call = self._set_call(project_id, key, payload, ttl, tags, version, fill, project)
        return self._set_tagged(project_id, tags, ttl, call)

    async def _set_tagged(
        self, project_id: CanonicalId, tags: frozenset[CacheTag], ttl: TTL, call: ScriptCall
    ) -> WriteResult:
        registers = self._register_calls(project_id, tags, ttl)
        replies = await self._registered_then(registers, [call], project_id)
        return _write_result(replies[0])

    def _set_call(
        self,
        project_id: CanonicalId,
        key: str,
        payload: bytes,
        ttl: TTL,
        tags: frozenset[CacheTag],
        version: int | None,
        fill: str | None = None,
        project: _ProjectKeys | None = None,
    ) -> ScriptCall:
        if project is None:
            project = self._keys(project_id)
        keys = [key, project.index, project.tags, project.fills]
        args: list[EncodedArg] = [payload, ttl.milliseconds, "" if version is None else version]
        if tags:
            names = sorted(tag.name for tag in tags)
            keys += [self._space(project_keys.tag_index(project_id, CacheTag(n))) for n in names]
            args += [f"|{'|'.join(names)}|", fill or "", *names]
        else:
            args += ["", fill or ""]
        return ScriptCall(_SET, keys, args)

    def _register_calls(
        self, project_id: CanonicalId, tags: frozenset[CacheTag], ttl: TTL
    ) -> list[ScriptCall]:
        return register_calls(self._space, self._keys(project_id).member, tags, ttl)

    async def _registered_then(
        self, registers: list[ScriptCall], writes: list[ScriptCall], project_id: CanonicalId
    ) -> list[Any]:
        """Step 1, the tags' registries (each in its tag's slot); step 2, the writes (the
        project's slot). So a registry lists every project holding the tag, whenever read.

        One pipeline where it runs in order (one server); if a registration failed there,
        the entries just stored are removed again before the error is raised.
        """
        if not one_pipeline_keeps_order(self._redis):
            await self._redis.batch(registers)
            return await self._redis.batch(writes)
        replies = await self._redis.batch([*registers, *writes], raise_on_error=False)
        failed = next((r for r in replies[: len(registers)] if isinstance(r, Exception)), None)
        if failed is not None:
            project = self._keys(project_id)
            undo = [ScriptCall(_DELETE, (w.keys[0], project.index, project.fills)) for w in writes]
            await self._redis.batch(undo)
            raise failed
        written = replies[len(registers) :]
        for reply in written:
            if isinstance(reply, Exception):
                raise reply
        return written

    async def delete(self, project_id: CanonicalId, name: str | None) -> bool:
        project = self._keys(project_id)
        keys = (self._key(project_id, name), project.index, project.fills)
        return bool(await self._redis.script(_DELETE, keys, ()))

    async def invalidate_project(self, project_id: CanonicalId) -> int:
        # Revoke the project's fill tokens and read a page of its index and tag set, then
        # remove exactly those keys (declared in KEYS) in one script, which hands back the
        # next page: one bounded step per call, other clients running between steps. The
        # steps are capped by what the first one left, so concurrent writers cannot keep it
        # going.
        project = self._keys(project_id)
        entries, tag_names = await self._redis.script(
            _INVALIDATE_BEGIN, (project.index, project.tags, project.fills), (CHUNK,)
        )
        entries, tag_names = _strings(entries), _strings(tag_names)
        removed, steps = 0, None
        while (entries or tag_names) and (steps is None or steps > 0):
            tag_keys = [self._tag_index_key(project_id, t) for t in tag_names]
            keys = [project.index, project.tags, *entries, *tag_keys]
            step, left, entries, tag_names = await self._redis.script(
                _INVALIDATE, keys, (len(entries), CHUNK, *tag_names)
            )
            removed += step
            entries, tag_names = _strings(entries), _strings(tag_names)
            steps = (-(-left // CHUNK) + 1 if steps is None else steps) - 1
        return int(removed)

    def _tag_index_key(self, project_id: CanonicalId, tag: str) -> str:
        return self._space(project_keys.tag_index(project_id, CacheTag(tag)))

    async def invalidate_tag(self, tag: CacheTag, project_id: CanonicalId | None = None) -> int:
        if project_id is not None:
            return await self.invalidate_tag_in(tag, [project_id])
        # The registry lists every project holding the tag (written first, see set_if_newer)
        # and maybe more: those cost an empty read. Its expired members are pruned here.
        registry = self._space(project_keys.tag_projects(tag))
        _, members = await self._redis.batch(
            [ScriptCall(_PRUNE, (registry,), (CHUNK,)), ("ZRANGE", registry, 0, -1)]
        )
        return await self.invalidate_tag_in(tag, [parse_id(member.decode()) for member in members])

    async def invalidate_tag_in(self, tag: CacheTag, project_ids: Sequence[CanonicalId]) -> int:
        # Per chunk of projects: one pipelined first step in each (revoke the fill tokens of
        # loads carrying the tag, read the project's index of the tag), then pipelined rounds
        # of bounded steps, each on the members the read or the step before listed. A project
        # is asked at most as often as its first step's remainder needs (so concurrent
        # writers cannot keep it going).
        unique = list(dict.fromkeys(project_ids))
        removed = 0
        for start in range(0, len(unique), _PIPELINE_CHUNK):
            chunk = unique[start : start + _PIPELINE_CHUNK]
            begins = [
                ((self._tag_index_key(p, tag.name), self._keys(p).fills), (tag.name, TAG_CHUNK))
                for p in chunk
            ]
            pages = await self._redis.scripts_pipelined(_TAG_BEGIN, begins)
            pending = [(p, _strings(m)) for p, m in zip(chunk, pages, strict=True)]
            steps_left: dict[CanonicalId, int] = {}
            while pending := [(p, m) for p, m in pending if m and steps_left.get(p, 1) > 0]:
                calls = [self._tag_call(p, tag, m) for p, m in pending]
                replies = await self._redis.scripts_pipelined(_INVALIDATE_TAG, calls)
                again = []
                for (pid, _), (step, left, members) in zip(pending, replies, strict=True):
                    removed += step
                    steps_left[pid] = steps_left.get(pid, -(-left // TAG_CHUNK) + 1) - 1
                    again.append((pid, _strings(members)))
                pending = again
        return removed

    def _tag_call(
        self, project_id: CanonicalId, tag: CacheTag, members: Sequence[str]
    ) -> tuple[list[str], tuple[str, int]]:
        project = self._keys(project_id)
        tag_index = self._tag_index_key(project_id, tag.name)
        return [tag_index, project.index, project.tags, *members], (tag.name, TAG_CHUNK)

    async def list_names(self, project_id: CanonicalId) -> list[str | None]:
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
        for node, pattern in itertools.product(self._redis.walk_nodes(), patterns):
            cursor = 0
            while True:  # on a cluster, each master's keys in turn
                cursor, keys = await self._redis.command_on(
                    node, "SCAN", cursor, "MATCH", pattern, "TYPE", "zset", "COUNT", 500
                )
                while keys:
                    calls = [((key,), (CHUNK,)) for key in keys]
                    counts = await self._redis.scripts_pipelined(_PRUNE, calls)
                    removed += sum(counts)
                    keys = [k for k, n in zip(keys, counts, strict=True) if n == CHUNK]
                if cursor == 0:
                    break
        return removed

    async def get_many(self, slots: Sequence[tuple[CanonicalId, str | None]]) -> list[bytes | None]:
        # One pipeline of the single-read script (the executor sends one per node on a
        # cluster): each read counts its access as a single read does.
        replies: list[bytes | None] = []
        for start in range(0, len(slots), _PIPELINE_CHUNK):
            calls = [((self._key(p, n),), ()) for p, n in slots[start : start + _PIPELINE_CHUNK]]
            replies += await self._redis.scripts_pipelined(_GET, calls)
        return replies

    async def set_many(
        self,
        project_id: CanonicalId,
        entries: Sequence[tuple[str | None, bytes]],
        ttl: TTL,
        tags: frozenset[CacheTag],
    ) -> list[WriteResult]:
        # Step 1 the tags' registries, once for all; step 2 one pipeline of writes (all in
        # the project's slot).
        calls = [
            self._set_call(project_id, self._key(project_id, name), payload, ttl, tags, None)
            for name, payload in entries
        ]
        registers = self._register_calls(project_id, tags, ttl)
        results: list[WriteResult] = []
        for start in range(0, len(calls), _PIPELINE_CHUNK):
            chunk = calls[start : start + _PIPELINE_CHUNK]
            if registers:
                replies = await self._registered_then(registers, chunk, project_id)
            else:
                replies = await self._redis.batch(chunk)
            results += [_write_result(reply) for reply in replies]
        return results


def register_calls(
    space: KeySpace, member: str, tags: frozenset[CacheTag], ttl: TTL
) -> list[ScriptCall]:
    """The cross-project step of a tagged write (or load): list project ``member`` in each
    tag's registry, for ``ttl``; run it before the project's own step."""
    return [
        ScriptCall(_REGISTER, (space(project_keys.tag_projects(tag)),), (member, ttl.milliseconds))
        for tag in sorted(tags, key=lambda tag: tag.name)
    ]


def _strings(values: Sequence[bytes | str]) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else v for v in values]


def _write_result(reply: list[int]) -> WriteResult:
    stored, current = reply
    if stored == -1:
        raise VersionLimitError()
    if stored == 2:
        return WriteResult(WriteOutcome.REVOKED, None if current == -1 else int(current))
    outcome = WriteOutcome.STORED if stored else WriteOutcome.STALE
    return WriteResult(outcome, int(current))


def _from_ms(value: bytes) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
