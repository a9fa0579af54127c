"""``LoadStore`` on Redis: load metadata in the entry's hash, leases beside it in its slot.

Keys (``keys.lease``), under the project's hash tag (one slot per project, as its entries):
``proj:{<project>}:lease:<entry>`` holds the holder's token (``SET NX PX``),
``lease-waiters:<entry>`` counts the processes waiting, and ``lease-done:<entry>`` is the
list each of them ``BLPOP``s: a release pushes one element per waiter, so they are told at
once and never poll. A wait lasts at most the lease's remaining time: a holder that died is
noticed when its lease runs out. ``<entry>`` is ``data`` or ``kv:<name>``. The metadata
fields ``lv``, ``lx``, ``ld`` sit in the entry hash itself.
The lease's token is also the load's fill token, in the project's ``fills`` hash (taken with
the lease, in the same script). A tagged load first lists its project in its tags' registries
(as a tagged write does), so an invalidation of the tag across projects finds its token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from jeex_cache.core.codec import decode
from jeex_cache.core.connect import ConnectionSettings, create_client
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.identifiers import CanonicalId, IdKey, id_key, id_of_key
from jeex_cache.core.keys import KeyCache, KeySpace
from jeex_cache.core.scripts import EncodedArg, LuaScript, ScriptCall
from jeex_cache.core.steps import one_pipeline_keeps_order
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache.keys import EntrySlot
from jeex_cache.project_cache.lease import FillTerms, Grant, LeaseEnd
from jeex_cache.project_cache.model import LoadMark, StoredLoad
from jeex_cache.project_cache.redis import register_calls

__all__ = ["RedisLoadStore", "open_waits"]

_READ = LuaScript.load(__name__, "loader_read")
_ACQUIRE = LuaScript.load(__name__, "lease_acquire")
_EXTEND = LuaScript.load(__name__, "lease_extend")
_WATCH = LuaScript.load(__name__, "lease_watch")
_RELEASE = LuaScript.load(__name__, "lease_release")

_LIST_LIFETIME_MS = 60_000  # wake-ups nobody took (a waiter that gave up) go away


@dataclass(frozen=True, slots=True)
class _LeaseKeys:
    """An entry's lease keys, namespaced."""

    lease: str
    waiters: str
    done: str

    @classmethod
    def of(cls, space: KeySpace, keys: project_keys.LeaseKeys) -> _LeaseKeys:
        return cls(space(keys.lease), space(keys.waiters), space(keys.done))


class RedisLoadStore:
    """Loader reads, metadata and leases in Redis; see the module docstring for the keys.

    ``waits`` runs the blocking ``BLPOP``s (``open_waits``).
    """

    def __init__(self, executor: RedisExecutor, waits: RedisExecutor) -> None:
        self._redis = executor
        self._waits = waits
        self._space = space = executor.keys
        self._entries = project_keys.entry_keys(space)
        self._fills: KeyCache[IdKey, str] = KeyCache(
            lambda pid: space(project_keys.fills(id_of_key(pid)))
        )
        self._leases: KeyCache[EntrySlot, _LeaseKeys] = KeyCache(
            lambda slot: _LeaseKeys.of(space, project_keys.lease(id_of_key(slot[0]), slot[1]))
        )

    def _entry(self, project_id: CanonicalId, name: str | None) -> str:
        return self._entries[(id_key(project_id), name)]

    def _fill_tokens(self, project_id: CanonicalId) -> str:
        return self._fills[id_key(project_id)]

    def _lease(self, project_id: CanonicalId, name: str | None) -> _LeaseKeys:
        return self._leases[(id_key(project_id), name)]

    async def read(
        self, project_id: CanonicalId, name: str | None, accesses: int = 1
    ) -> StoredLoad | None:
        row = await self._redis.script(_READ, (self._entry(project_id, name),), (accesses,))
        if row is None:
            return None
        payload, version, marked, fresh_until, delta = row
        value = decode(payload)
        if marked != version or not fresh_until:
            return None if value is None else StoredLoad(value, float("inf"), 0.0)
        return StoredLoad(value, int(fresh_until) / 1000, int(delta) / 1000)

    async def acquire(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        ms: int,
        fresh_after: float,
        fill: FillTerms,
    ) -> Grant:
        entry = self._entry(project_id, name)
        keys = (self._lease(project_id, name).lease, entry, self._fill_tokens(project_id))
        names = sorted(tag.name for tag in fill.tags)
        args = (token, ms, round(fresh_after * 1000), f"|{'|'.join(names)}|" if names else "")
        if not names:
            return _GRANTS[await self._redis.script(_ACQUIRE, keys, args)]
        # The tags' registries first (their slots), then the lease and token (the project's).
        registers = register_calls(self._space, str(project_id), fill.tags, fill.ttl)
        acquire = ScriptCall(_ACQUIRE, keys, args)
        if not one_pipeline_keeps_order(self._redis):
            await self._redis.batch(registers)
            return _GRANTS[await self._redis.script(_ACQUIRE, keys, args)]
        replies = await self._redis.batch([*registers, acquire])
        return _GRANTS[replies[-1]]

    async def extend(self, project_id: CanonicalId, name: str | None, token: str, ms: int) -> bool:
        keys = (self._lease(project_id, name).lease, self._fill_tokens(project_id))
        return bool(await self._redis.script(_EXTEND, keys, (token, ms)))

    async def release(
        self,
        project_id: CanonicalId,
        name: str | None,
        token: str,
        end: LeaseEnd,
        mark: LoadMark | None = None,
    ) -> None:
        lease = self._lease(project_id, name)
        entry, fills = self._entry(project_id, name), self._fill_tokens(project_id)
        keys = (lease.lease, lease.waiters, lease.done, entry, fills)
        args: tuple[EncodedArg, ...] = (token, end.value, _LIST_LIFETIME_MS)
        if mark is not None:
            fresh_until, delta = round(mark.fresh_until * 1000), round(mark.delta * 1000)
            args += (mark.version, fresh_until, delta)
        await self._redis.script(_RELEASE, keys, args)

    async def wait(self, project_id: CanonicalId, name: str | None, seconds: float) -> LeaseEnd:
        lease = self._lease(project_id, name)
        left_ms = await self._redis.script(
            _WATCH, (lease.lease, lease.waiters), (_LIST_LIFETIME_MS,)
        )
        if not left_ms:
            return LeaseEnd.FREE
        # Until the lease would run out (plus a little, so that it has): BLPOP's 0 is never.
        blocking = max(0.01, min(seconds, left_ms / 1000 + 0.01))
        reply = await self._waits.command("BLPOP", lease.done, f"{blocking:.3f}")
        if reply is None:
            return LeaseEnd.TIMEOUT
        return LeaseEnd(reply[1].decode())


_GRANTS = {0: Grant.HELD, 1: Grant.TAKEN, 2: Grant.FRESH}


class WaitSettings(ConnectionSettings, Protocol):
    """What ``open_waits`` reads (``config.Settings`` is one)."""

    @property
    def cache_namespace(self) -> str: ...
    @property
    def cache_loader_lease_seconds(self) -> float: ...


def open_waits(shared: RedisExecutor, settings: WaitSettings) -> RedisExecutor:
    """The executor of the lease waits: the backend's connection factory (``create_client``,
    as ``shared``'s own client) with a socket timeout that covers one wait, behind ``shared``'s
    breaker. Close its ``client`` with the backend.

    A separate pool, not ``shared``'s dedicated one: a ``BLPOP`` holds its connection for up
    to a whole lease (``CACHE_LOADER_LEASE_SECONDS``, 10 s by default), where the shared
    pool's socket timeout is the stalled-server bound of every other call
    (``REDIS_SOCKET_TIMEOUT``, 0.25 s), and redis-py sets no read timeout per command. Held
    there, the waits would also take the connections that durable writes and pub/sub need.
    """
    longest = settings.cache_loader_lease_seconds + settings.redis_socket_timeout + 1
    return RedisExecutor(
        create_client(settings, socket_timeout=longest),
        settings.cache_namespace,
        breaker=shared.breaker,
        # On a cluster a wait's BLPOP goes to its key's node: per-node clients of that timeout.
        router=shared.router if shared.sharded else None,
        dedicated_timeout=longest,
    )
