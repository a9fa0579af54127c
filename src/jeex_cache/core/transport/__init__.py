"""Our multiplexed Redis transport: many callers per connection, parsed by hiredis.

Every command issued in one event-loop iteration leaves in one write; replies are matched
first in, first out; a few connections per node carry every call. See docs/transport.md.

    router = SingleNode(NodePool(parse_url(url), size=2, limits=Limits(deadline=0.25)))
    await router.open()
    reply = await router.route(key).execute(encode(("GET", key)))
"""

from jeex_cache.core.transport.cluster import ClusterRouter
from jeex_cache.core.transport.connection import Connection, Limits
from jeex_cache.core.transport.errors import (
    OUTAGE_REPLIES,
    RETRYABLE_REPLIES,
    ClusterError,
    ConnectError,
    ConnectionLost,
    DeadlineExceeded,
    ProtocolError,
    ReplyError,
    TransportError,
)
from jeex_cache.core.transport.pool import NodePool
from jeex_cache.core.transport.protocol import Arg, Batch, PushHandler, RespProtocol, encode
from jeex_cache.core.transport.router import Router, SingleNode, key_slot
from jeex_cache.core.transport.url import (
    CLUSTER_SCHEMES,
    Endpoint,
    node_url,
    parse_cluster_url,
    parse_url,
)

__all__ = [
    "CLUSTER_SCHEMES",
    "OUTAGE_REPLIES",
    "RETRYABLE_REPLIES",
    "Arg",
    "Batch",
    "ClusterError",
    "ClusterRouter",
    "ConnectError",
    "Connection",
    "ConnectionLost",
    "DeadlineExceeded",
    "Endpoint",
    "Limits",
    "NodePool",
    "ProtocolError",
    "PushHandler",
    "ReplyError",
    "RespProtocol",
    "Router",
    "SingleNode",
    "TransportError",
    "encode",
    "key_slot",
    "node_url",
    "parse_cluster_url",
    "parse_url",
]
