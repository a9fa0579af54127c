"""Durable writes: a script acknowledged only once ``WAIT`` says enough replicas have it.

On Cluster and Sentinel a master can die with writes its replicas never saw; the replica
promoted in its place would not have them. A ``LuaScript`` loaded with ``durable=True`` (the
task enqueue) therefore runs with ``WAIT <replicas> <timeout>`` right behind it, on one
dedicated connection: WAIT counts the writes of its own connection, and it blocks that
connection, so it never runs on the shared multiplexed ones. Calls made together share one
pipeline and one WAIT (``DurableWrites``: a group commit). Too few confirmations raise
``ReplicationTimeoutError``: the write ran on the master, it may or may not survive.
Standalone servers have no WAIT (``replication_for`` gives None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from jeex_cache.core.errors import ReplicationTimeoutError
from jeex_cache.core.scripts import EncodedArg, LuaScript

__all__ = ["REPLICATED_SCHEMES", "DurableWrites", "Replication", "replication_for"]

REPLICATED_SCHEMES = frozenset({
    "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster",
})  # fmt: skip


class ReplicationSettings(Protocol):
    """What durability reads (``REDIS_*`` of ``config.Settings``)."""

    @property
    def redis_url(self) -> str | None: ...
    @property
    def redis_wait_replicas(self) -> int: ...
    @property
    def redis_wait_timeout(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Replication:
    """Replicas that must confirm a durable write, and how long to wait for them (ms)."""

    replicas: int
    timeout_ms: int

    @property
    def seconds(self) -> float:
        """The wait, in seconds (a dedicated connection's read timeout must cover it)."""
        return self.timeout_ms / 1000


def replication_for(settings: ReplicationSettings) -> Replication | None:
    """The WAIT a topology applies: on Cluster and Sentinel with ``REDIS_WAIT_REPLICAS``
    above 0; None on a standalone server."""
    url = settings.redis_url
    if url is None or settings.redis_wait_replicas == 0:
        return None
    if urlsplit(url).scheme not in REPLICATED_SCHEMES:
        return None
    return Replication(settings.redis_wait_replicas, settings.redis_wait_timeout)


class DurableWrites:
    """Group commit of durable scripts: the calls issued while a batch waits share its WAIT.

    The calls made in one event-loop iteration (and those that arrive while every lane is
    busy) go out as one pipeline of scripts followed by one WAIT, on one dedicated
    connection. At most ``lanes`` batches are in flight per backend, so callers wait in
    order rather than exhaust the dedicated connections.
    """

    def __init__(self, replication: Replication, *, lanes: int = 4, batch: int = 256) -> None:
        self.replication = replication
        self._lanes = asyncio.Semaphore(lanes)
        self._batch = batch
        self._pending: dict[int, list[_Item]] = {}  # by id() of the dedicated client
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(
        self,
        client: aioredis.Redis,
        script: LuaScript,
        keys: Sequence[str],
        args: Sequence[EncodedArg],
    ) -> Any:
        """Run ``script`` durably; its reply. Raises the script's error, a redis-py error,
        or ``ReplicationTimeoutError``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.get(id(client))
        if pending is None:
            pending = self._pending[id(client)] = []
            task = loop.create_task(self._flush(client))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        pending.append((script, keys, args, future))
        return await future

    async def _flush(self, client: aioredis.Redis) -> None:
        async with self._lanes:
            items = self._pending.pop(id(client), [])
            for start in range(0, len(items), self._batch):
                chunk = items[start : start + self._batch]
                try:
                    await self._send(client, chunk)
                except Exception as exc:  # the link failed: every caller of the chunk sees it
                    for *_, future in chunk:
                        if not future.done():
                            future.set_exception(exc)

    async def _send(self, client: aioredis.Redis, items: list[_Item]) -> None:
        # A call answered NOSCRIPT gets the error: the executor loads the script, sends again.
        self._settle(items, await _pipeline(client, items, self.replication))

    def _settle(self, items: list[_Item], replies: list[Any]) -> None:
        acked, wanted = replies[-1], self.replication.replicas
        short = isinstance(acked, Exception) or int(acked) < wanted
        for (script, _, _, future), reply in zip(items, replies[:-1], strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            elif short:
                confirmed = "an error" if isinstance(acked, Exception) else f"{int(acked)}"
                future.set_exception(
                    ReplicationTimeoutError(
                        f"redis {script.name}: written on the master, but {confirmed} "
                        f"replica(s) confirmed it within {self.replication.timeout_ms} ms "
                        f"(needed {wanted}): it may or may not survive a failover, so it "
                        "may or may not be queued; check before retrying"
                    )
                )
            else:
                future.set_result(reply)


_Item = tuple[LuaScript, Sequence[str], Sequence[EncodedArg], "asyncio.Future[Any]"]


async def _pipeline(
    client: aioredis.Redis, items: list[_Item], replication: Replication
) -> list[Any]:
    """The scripts of ``items`` then WAIT, in one round trip on one connection."""
    async with client.pipeline(transaction=False) as pipe:
        queue = cast(Callable[..., object], pipe.execute_command)
        for script, keys, args, _ in items:
            queue("EVALSHA", script.sha, len(keys), *keys, *args)
        queue("WAIT", replication.replicas, replication.timeout_ms)
        return list(await pipe.execute(raise_on_error=False))
