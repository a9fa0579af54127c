"""``UserSessionRepository`` on Redis.

Layout: ``<ns>:sess:{<digest>}``, a hash per session named by the SHA-256 of its ID (its own
cluster slot), with fields ``u`` (user), ``ct`` / ``la`` / ``ax`` (created, last activity,
absolute cap; ms), ``it`` (idle timeout, ms), ``p:<project>`` per grant and ``d:<key>`` per
user-data key (encoded JSON). The key's expiry is the sliding idle expiry, never past ``ax``.
``<ns>:user:{<user>}:sessions`` (the user's slot) lists the user's digests by creation time.

``<ns>:user:{<user>}:sessions:adds`` notes when each digest was indexed, for a minute.

Validation, access checks, grants, data updates, extension and revocation are one script on
the session's slot: one round trip. Operations that need both slots (create, rotate, listing
and revoking a user's sessions) are single-slot steps ordered so that the index always lists
every live session, whenever a crash comes: the index before the record on a create, records
before index members on a removal, and a digest indexed within ``PENDING_MS`` never pruned
(its record may be on its way). One pipeline on a single server (it keeps the order), one
step after the other on a cluster. ``docs/design.md`` ("Cross-slot steps") counts the trips.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from jeex_cache.core.codec import decode
from jeex_cache.core.errors import BackendError, PayloadTooLargeError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.identifiers import CanonicalId, parse_id
from jeex_cache.core.keys import KeyCache
from jeex_cache.core.scripts import LuaScript, ScriptCall
from jeex_cache.core.steps import one_pipeline_keeps_order
from jeex_cache.core.ttl import TTL
from jeex_cache.sessions.keys import session_record, user_session_adds, user_sessions
from jeex_cache.sessions.model import UserSession, assemble

__all__ = ["PENDING_MS", "RedisUserSessionRepository"]

PENDING_MS = 60_000
"""A digest indexed this recently is never pruned: a create or rotation stores the index
first and the record one round trip later (far less than this, under any call deadline)."""

_INDEX_ADD = LuaScript.load(__name__, "session_index_add")
_INDEX_PRUNE = LuaScript.load(__name__, "session_index_prune")
_CREATE = LuaScript.load(__name__, "session_create")
_TOUCH = LuaScript.load(__name__, "session_touch")
_GRANT = LuaScript.load(__name__, "session_grant")
_UPDATE = LuaScript.load(__name__, "session_update")
_TAKE = LuaScript.load(__name__, "session_take")


class RedisUserSessionRepository:
    """Sessions in Redis; see the module docstring for the key layout."""

    def __init__(self, executor: RedisExecutor) -> None:
        self._redis = executor
        self._keys = executor.keys
        # Record keys by digest (bounded): a session is validated again and again, and its
        # key is checked and built once, not on every validation.
        self._records: KeyCache[str, str] = KeyCache(
            lambda digest: self._keys(session_record(digest)), _CACHE_SIZE
        )

    def _record(self, digest: str) -> str:
        return self._records[digest]

    def _index(self, user_id: CanonicalId) -> str:
        return self._keys(user_sessions(user_id))

    def _index_keys(self, user_id: CanonicalId) -> tuple[str, str]:
        return self._keys(user_sessions(user_id)), self._keys(user_session_adds(user_id))

    async def create(
        self,
        digest: str,
        user_id: CanonicalId,
        data: Mapping[str, bytes],
        projects: frozenset[CanonicalId],
        idle_ttl: TTL,
        absolute_ttl: TTL,
        max_per_user: int,
    ) -> tuple[UserSession, list[str]] | None:
        record, index = self._record(digest), self._index_keys(user_id)
        fields: list[str | bytes | int] = ["u", str(user_id), "it", idle_ttl.milliseconds]
        for project in projects:
            fields += [f"p:{project}", 1]
        for key, value in data.items():
            fields += [f"d:{key}", value]
        idle, lifetime = idle_ttl.milliseconds, absolute_ttl.milliseconds
        listed, created = await self._index_and_store(
            ScriptCall(_INDEX_ADD, index, (digest, max_per_user, lifetime, "", PENDING_MS)),
            ScriptCall(_CREATE, (record,), (idle, lifetime, *fields)),
        )
        if int(created[0]) != 1:
            return None
        now, expires = int(created[1]), int(created[2])
        session = UserSession(
            session_id=None,
            session_hash=digest,
            user_id=user_id,
            user_data={key: decode(value) for key, value in data.items()},
            project_access=projects,
            created_at=_from_ms(now),
            last_activity=_from_ms(now),
            expires_at=_from_ms(expires),
            absolute_expires_at=_from_ms(now + absolute_ttl.milliseconds),
        )
        evicted = await self._evict(index, listed, digest, max_per_user) if listed else []
        return session, evicted

    async def _index_and_store(
        self, index_call: ScriptCall, create_call: ScriptCall
    ) -> tuple[list[bytes], list[Any]]:
        """Run the user-index script, then the record script, in one round trip.

        The index goes first, so an interruption may leave an indexed digest without a record
        (skipped everywhere), never a record that ``delete_for_user`` cannot find; a record
        stored although its indexing failed is removed again before the error is raised. On
        a cluster (two nodes, no common order) the record step waits for the index step.
        """
        if not one_pipeline_keeps_order(self._redis):
            listed = await self._redis.script(index_call.script, index_call.keys, index_call.args)
            created = await self._redis.script(
                create_call.script, create_call.keys, create_call.args
            )
            return listed, created
        listed, created = await self._redis.batch([index_call, create_call], raise_on_error=False)
        if isinstance(listed, BackendError):
            if not isinstance(created, BackendError) and int(created[0]) == 1:
                await self._redis.command("UNLINK", *create_call.keys)
            raise listed
        if isinstance(created, BackendError):
            raise created
        return listed, created

    async def _evict(
        self, index: tuple[str, str], members: list[bytes], keep: str, cap: int
    ) -> list[str]:
        """Remove the oldest live sessions beyond ``cap`` (``keep`` counts, and stays), and
        prune the index's members whose records are gone. Two round trips."""
        digests = [member.decode() for member in members if member.decode() != keep]
        exists = await self._redis.batch([("EXISTS", self._record(d)) for d in digests])
        live = [d for d, found in zip(digests, exists, strict=True) if found]
        dead = [d for d, found in zip(digests, exists, strict=True) if not found]
        evicted = live[: max(len(live) + 1 - cap, 0)]
        if evicted or dead:
            unlinks = [("UNLINK", self._record(d)) for d in evicted]
            await self._records_then_members(unlinks, index, [*evicted, *dead])
        return evicted

    async def _records_then_members(
        self, unlinks: list[tuple[str, str]], index: tuple[str, str], digests: list[str]
    ) -> list[Any]:
        """Step 1 remove records, step 2 prune their members from the user's index (sparing
        the digests indexed within ``PENDING_MS``): an interruption leaves them listed.
        Returns the replies of the removals."""
        prune = ScriptCall(_INDEX_PRUNE, index, (PENDING_MS, *digests))
        if one_pipeline_keeps_order(self._redis):
            return (await self._redis.batch([*unlinks, prune]))[:-1]
        removed = await self._redis.batch(unlinks) if unlinks else []
        await self._redis.script(prune.script, prune.keys, prune.args)
        return removed

    def touch(
        self, digest: str, extend_to: TTL | None = None
    ) -> Coroutine[Any, Any, UserSession | None]:
        # The executor's coroutine, its reply turned into the session there: a validation
        # has no coroutine of its own here (each nested frame costs on every resumption).
        record = self._records[digest]
        extend = "" if extend_to is None else extend_to.milliseconds
        touched = partial(_touched, digest)
        return self._redis.script(_TOUCH, (record,), ("", extend), touched, recurring=True)

    async def touch_for_project(
        self, digest: str, project_id: CanonicalId
    ) -> tuple[CanonicalId, bool] | None:
        row = await self._redis.script(_TOUCH, (self._record(digest),), (f"p:{project_id}", ""))
        if row is None:
            return None
        return _id(row[0]), bool(row[1])

    async def set_project_access(
        self, digest: str, project_id: CanonicalId, allowed: bool
    ) -> tuple[CanonicalId, bool] | None:
        args = (f"p:{project_id}", "1" if allowed else "0")
        row = await self._redis.script(_GRANT, (self._record(digest),), args)
        if row is None:
            return None
        return _id(row[0]), bool(row[1])

    async def update_data(self, digest: str, data: Mapping[str, bytes], max_bytes: int) -> bool:
        args: list[str | bytes | int] = [max_bytes]
        for key, value in data.items():
            args += [f"d:{key}", value]
        result = int(await self._redis.script(_UPDATE, (self._record(digest),), args))
        if result < 0:
            raise PayloadTooLargeError(
                f"user data would be over the limit of {max_bytes} bytes "
                "(JEEX_CACHE_SESSION_MAX_DATA_BYTES)"
            )
        return result == 1

    async def delete(self, digest: str) -> CanonicalId | None:
        # The index keeps the digest until its user's next eviction check or its lifetime
        # ends: a listed digest without a record is skipped everywhere.
        taken = await self._redis.script(_TAKE, (self._record(digest),), ())
        if taken is None:
            return None
        return _id(_pairs(taken[1])[b"u"])

    async def rename(self, digest: str, new_digest: str) -> UserSession | None:
        taken = await self._redis.script(_TAKE, (self._record(digest),), ())
        if taken is None:
            return None
        pttl, flat = int(taken[0]), taken[1]
        fields = _pairs(flat)
        if pttl <= 0:
            return None
        user_id = _id(fields[b"u"])
        lifetime = int(fields[b"ax"]) - int(fields[b"ct"])
        _, created = await self._index_and_store(
            ScriptCall(
                _INDEX_ADD, self._index_keys(user_id), (new_digest, 0, lifetime, digest, PENDING_MS)
            ),
            ScriptCall(_CREATE, (self._record(new_digest),), (pttl, "", *flat)),
        )
        if int(created[0]) != 1:
            return None
        fields[b"la"] = created[1]
        return _session(new_digest, fields, int(created[2]))

    async def list_for_user(self, user_id: CanonicalId) -> list[UserSession]:
        members = await self._redis.command("ZRANGE", self._index(user_id), 0, -1)
        if not members:
            return []
        digests = [member.decode() for member in members]
        calls: list[tuple[Any, ...]] = [("TIME",)]
        for digest in digests:
            calls += [("HGETALL", self._record(digest)), ("PTTL", self._record(digest))]
        results = await self._redis.batch(calls)
        seconds, microseconds = results[0]
        now = int(seconds) * 1000 + int(microseconds) // 1000
        sessions, dead = [], []
        for i, digest in enumerate(digests):
            fields, pttl = results[1 + 2 * i], results[2 + 2 * i]
            if fields and pttl > 0:
                sessions.append(_session(digest, fields, now + int(pttl)))
            else:
                dead.append(digest)
        if dead:  # dangling members (expired, revoked, or a crash between steps): pruned
            prune_args = (PENDING_MS, *dead)
            await self._redis.script(_INDEX_PRUNE, self._index_keys(user_id), prune_args)
        return sessions

    async def delete_for_user(self, user_id: CanonicalId) -> int:
        index = self._index_keys(user_id)
        members = await self._redis.command("ZRANGE", index[0], 0, -1)
        if not members:
            return 0
        # Records first, members last: an interruption leaves the survivors listed. A digest
        # indexed within PENDING_MS stays listed (its record may be on its way).
        digests = [member.decode() for member in members]
        unlinks = [("UNLINK", self._record(digest)) for digest in digests]
        removed = await self._records_then_members(unlinks, index, digests)
        return sum(int(n) for n in removed)


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _session(digest: str, fields: Mapping[bytes, bytes], expires_ms: int) -> UserSession:
    projects: list[bytes] = []
    data: list[bytes] = []
    for name, value in fields.items():
        if name.startswith(b"p:"):
            projects.append(name[2:])
        elif name.startswith(b"d:"):
            data += [name[2:], value]
    user, created, last, cap = fields[b"u"], fields[b"ct"], fields[b"la"], fields[b"ax"]
    return _build(digest, user, created, last, expires_ms, cap, projects, data)


def _touched(digest: str, row: list[Any]) -> UserSession:
    expires, now, user, created, cap, projects, data = row  # nil (no session): not decoded
    return _build(digest, user, created, now, expires, cap, projects, data)


def _build(
    digest: str,
    user: bytes,
    created: bytes | int,
    last: bytes | int,
    expires: bytes | int,
    cap: bytes | int,
    projects: list[bytes],
    data: list[bytes],
) -> UserSession:
    # A validation's Python work, so lookups of what was parsed before are inline (C only):
    # users, project sets and times come back all the time (validations share milliseconds).
    listed = tuple(projects)
    granted = _GRANTS.get(listed)
    if granted is None:
        granted = _grants(listed)
    user_data = {}
    for i in range(0, len(data), 2):  # a loop, not a comprehension: no frame of its own
        user_data[data[i].decode()] = decode(data[i + 1])
    return assemble(
        digest,
        _IDS[user],
        user_data,
        granted,
        _TIMES[created],
        _TIMES[last],
        _TIMES[expires],
        _TIMES[cap],
    )


_CACHE_SIZE = 10_000
_IDS: KeyCache[bytes, CanonicalId] = KeyCache(lambda value: parse_id(value.decode()), _CACHE_SIZE)
_TIMES: KeyCache[bytes | int, datetime] = KeyCache(
    lambda value: datetime.fromtimestamp(int(value) / 1000, tz=UTC), _CACHE_SIZE
)
_GRANTS: dict[tuple[bytes, ...], frozenset[CanonicalId]] = {}
_GRANTS_KEPT = 4_096  # sets of at most _GRANT_SIZE_KEPT projects: a few MB at most
_GRANT_SIZE_KEPT = 16


def _grants(projects: tuple[bytes, ...]) -> frozenset[CanonicalId]:
    # A session's projects come back on every validation; a small set is kept whole, so
    # neither its IDs nor their hashes (a UUID's is Python code) are computed again.
    granted = frozenset(map(_id, projects))
    if len(projects) <= _GRANT_SIZE_KEPT:
        if len(_GRANTS) >= _GRANTS_KEPT:
            _GRANTS.clear()
        _GRANTS[projects] = granted
    return granted


def _id(value: bytes) -> CanonicalId:
    # Parsing an ID costs more than the rest of a validation's Python work; the same users
    # and projects come back all the time, so parsed ones are kept (bounded, in ``_IDS``). A
    # stored ID is canonical text (``id_text``), so it parses back to the ID that was stored.
    return _IDS[value]


def _from_ms(value: bytes | int) -> datetime:
    # Kept (bounded, in ``_TIMES``) like IDs: a session's creation and cap never change, and
    # its last activity and idle expiry are shared by every validation in the same millisecond.
    return _TIMES[value]
