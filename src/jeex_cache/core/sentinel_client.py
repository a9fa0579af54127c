"""The redis-py client of a Sentinel deployment: dedicated connections that follow the master.

redis-py's ``Sentinel(...).master_for(...)`` asks the sentinels for the master's address
before each new connection, and drops a connection that answers READONLY (a demoted
master). Blocking waits, pub/sub and durable writes (``core.replication``) use it.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from jeex_cache.core.transport.sentinel_url import SentinelConfig

__all__ = ["SentinelRedis", "no_retry", "sentinel_client"]


class SentinelRedis(aioredis.Redis):
    """A master's client that also closes its connections to the sentinels."""

    sentinel_manager: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinel_manager is not None:
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.aclose()


def _kwargs(url: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(parse_url(url))
    kwargs.pop("host", None)
    kwargs.pop("port", None)
    if kwargs.pop("connection_class", None) is SSLConnection:
        kwargs["ssl"] = True
    return kwargs


def sentinel_client(
    config: SentinelConfig,
    *,
    max_connections: int,
    socket_timeout: float,
    connect_timeout: float,
) -> aioredis.Redis:
    """A client on the master of ``config.service``: at most ``max_connections``
    connections, no driver-level retries (retries belong to our resilience layer)."""
    timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": connect_timeout}
    sentinel_kwargs = {**_kwargs(config.sentinel_node_url), **timeouts}
    sentinel_kwargs.pop("db", None)
    # Through Any: redis-py types Sentinel from 8.2 on, not before (either must type-check).
    sentinel_class: Any = Sentinel
    manager = sentinel_class(
        [(node.host, node.port) for node in config.sentinels],
        sentinel_kwargs=sentinel_kwargs,
    )
    kwargs = {
        **_kwargs(config.node_url),
        **timeouts,
        "max_connections": max_connections,
        "retry": no_retry(),
    }
    client: SentinelRedis = manager.master_for(config.service, SentinelRedis, **kwargs)
    client.sentinel_manager = manager
    return client


def no_retry() -> Retry:
    """No driver-level retries: retries belong to our resilience layer."""
    # Through Any: redis-py types NoBackoff from 5.1 on, not before.
    backoff_class: Any = NoBackoff
    return Retry(backoff_class(), 0)
