"""The two kinds of Redis connection a backend opens, from its connection settings.

``create_transport`` builds the multiplexed connections every script and plain command shares;
``create_client`` a bounded redis-py pool of dedicated connections, for the commands that
block or change a connection's state. Both read a ``ConnectionSettings``: ``config.Settings``
is one, and core imports no configuration module. A ``redis+cluster://`` URL gives a
``ClusterRouter`` (one pool per master, each with its own lazily made redis-py client), and
``create_client`` then connects to the first seed node. A ``redis+sentinel://`` URL gives
a ``SentinelRouter`` (the master the sentinels name) and a redis-py ``Sentinel`` client.
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis

from jeex_cache.core.errors import ConfigurationError
from jeex_cache.core.sentinel_client import no_retry, sentinel_client
from jeex_cache.core.transport import (
    CLUSTER_SCHEMES,
    ClusterRouter,
    Endpoint,
    Limits,
    NodePool,
    Router,
    SingleNode,
    node_url,
    parse_cluster_url,
    parse_url,
)
from jeex_cache.core.transport.sentinel import SentinelRouter
from jeex_cache.core.transport.sentinel_url import SentinelConfig, parse_sentinel_url

__all__ = ["ConnectionSettings", "create_client", "create_transport"]


class ConnectionSettings(Protocol):
    """What connecting needs (``REDIS_*`` of ``config.Settings``)."""

    @property
    def redis_url(self) -> str | None: ...
    @property
    def redis_max_connections(self) -> int: ...
    @property
    def redis_socket_timeout(self) -> float: ...
    @property
    def redis_connect_timeout(self) -> float: ...
    @property
    def redis_command_timeout(self) -> float | None: ...
    @property
    def redis_max_inflight(self) -> int: ...
    @property
    def redis_multiplex_connections(self) -> int: ...
    @property
    def redis_wait_timeout(self) -> int: ...


def create_client(
    settings: ConnectionSettings,
    *,
    max_connections: int | None = None,
    socket_timeout: float | None = None,
) -> aioredis.Redis:
    """A redis-py client for dedicated connections: at most ``REDIS_MAX_CONNECTIONS`` (or
    ``max_connections``), no driver-level retries (retries belong to our resilience layer)."""
    url = settings.redis_url
    assert url is not None
    sentinel = _sentinel_config(url)
    if sentinel is not None:
        return sentinel_client(
            sentinel,
            max_connections=max_connections or settings.redis_max_connections,
            socket_timeout=socket_timeout or _covering_wait(settings),
            connect_timeout=settings.redis_connect_timeout,
        )
    if _is_cluster(url):
        seed = _cluster_seeds(url)[0]
        url = node_url(url, seed.host, seed.port)
    return _client(settings, url, max_connections, socket_timeout)


def _client(
    settings: ConnectionSettings,
    url: str,
    max_connections: int | None = None,
    socket_timeout: float | None = None,
) -> aioredis.Redis:
    pool = aioredis.ConnectionPool.from_url(
        url,
        max_connections=max_connections or settings.redis_max_connections,
        socket_timeout=socket_timeout or settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_connect_timeout,
        retry=no_retry(),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool


def _covering_wait(settings: ConnectionSettings) -> float:
    """A read timeout that covers a durable write's WAIT (replicated topologies)."""
    return settings.redis_socket_timeout + settings.redis_wait_timeout / 1000


def create_transport(settings: ConnectionSettings) -> Router:
    """The multiplexed connections to ``settings.redis_url`` (not connected yet)."""
    url = settings.redis_url
    assert url is not None
    limits = Limits(
        deadline=settings.redis_command_timeout or settings.redis_socket_timeout,
        connect_timeout=settings.redis_connect_timeout,
        max_inflight=settings.redis_max_inflight,
    )
    size = settings.redis_multiplex_connections
    sentinel = _sentinel_config(url)
    if sentinel is not None:
        return SentinelRouter(sentinel, size=size, limits=limits)
    if _is_cluster(url):

        def client(host: str, port: int, socket_timeout: float | None) -> aioredis.Redis:
            timeout = socket_timeout or _covering_wait(settings)
            return _client(settings, node_url(url, host, port), socket_timeout=timeout)

        return ClusterRouter(_cluster_seeds(url), size=size, limits=limits, client_factory=client)
    try:
        endpoint = parse_url(url)
    except ValueError as exc:
        raise ConfigurationError(f"invalid configuration: REDIS_URL: {exc}") from None
    return SingleNode(NodePool(endpoint, size=size, limits=limits))


def _sentinel_config(url: str) -> SentinelConfig | None:
    if "+sentinel://" not in url.partition("?")[0]:
        return None
    try:
        return parse_sentinel_url(url)
    except ValueError as exc:
        raise ConfigurationError(f"invalid configuration: REDIS_URL: {exc}") from None


def _is_cluster(url: str) -> bool:
    return url.partition("://")[0] in CLUSTER_SCHEMES


def _cluster_seeds(url: str) -> tuple[Endpoint, ...]:
    try:
        return parse_cluster_url(url)
    except ValueError as exc:
        raise ConfigurationError(f"invalid configuration: REDIS_URL: {exc}") from None
