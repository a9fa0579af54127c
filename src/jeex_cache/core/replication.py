"""Durable writes: a script acknowledged only once ``WAIT`` says enough replicas have it.

On Cluster and Sentinel a master can die with writes its replicas never saw; the replica
promoted in its place would not have them. A ``LuaScript`` loaded with ``durable=True`` (the
task enqueue) therefore runs with ``WAIT <replicas> <timeout>`` right behind it, on one
dedicated connection: WAIT counts the writes of its own connection, and it blocks that
connection, so it never runs on the shared multiplexed ones. Too few confirmations raise
``ReplicationTimeoutError``: the write ran on the master, it may or may not survive.
Standalone servers have no WAIT (``replication_for`` gives None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from jeex_cache.core.errors import ReplicationTimeoutError
from jeex_cache.core.scripts import EncodedArg, LuaScript

__all__ = ["REPLICATED_SCHEMES", "Replication", "replication_for", "run_durable"]

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


async def run_durable(
    client: aioredis.Redis,
    script: LuaScript,
    keys: Sequence[str],
    args: Sequence[EncodedArg],
    replication: Replication,
) -> Any:
    """Run ``script`` and WAIT in one round trip on one of ``client``'s connections.

    Raises the script's error, a redis-py error, or ``ReplicationTimeoutError``.
    """
    reply, acked = await _pipeline(client, ("EVALSHA", script.sha), keys, args, replication)
    if isinstance(reply, NoScriptError):  # a restarted or promoted server
        reply, acked = await _pipeline(client, ("EVAL", script.source), keys, args, replication)
    if isinstance(reply, Exception):
        raise reply
    if isinstance(acked, Exception) or int(acked) < replication.replicas:
        confirmed = "an error" if isinstance(acked, Exception) else f"{int(acked)} replica(s)"
        raise ReplicationTimeoutError(
            f"redis {script.name}: written on the master, but {confirmed} confirmed it "
            f"within {replication.timeout_ms} ms (needed {replication.replicas}): it may or "
            "may not survive a failover, so it may or may not be queued; check before retrying"
        )
    return reply


async def _pipeline(
    client: aioredis.Redis,
    head: tuple[str, str | bytes],
    keys: Sequence[str],
    args: Sequence[EncodedArg],
    replication: Replication,
) -> list[Any]:
    async with client.pipeline(transaction=False) as pipe:
        queue = cast(Callable[..., object], pipe.execute_command)
        queue(*head, len(keys), *keys, *args)
        queue("WAIT", replication.replicas, replication.timeout_ms)
        return list(await pipe.execute(raise_on_error=False))
