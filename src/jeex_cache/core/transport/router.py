"""Routing: which node's connections carry a command.

``Router`` is the seam between callers and nodes. ``SingleNode`` sends everything to one
server; ``ClusterRouter`` (``cluster.py``) maps ``key_slot(key)`` to the node that owns the
slot (one ``NodePool`` per master) and follows MOVED/ASK replies. Callers pass a command's
first key, so nothing above the router depends on the topology.
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Sequence
from typing import Protocol

from jeex_cache.core.transport.pool import NodePool

__all__ = ["Router", "SingleNode", "key_slot"]


class Router(Protocol):
    """Maps a command's first key to the node pool that serves it."""

    @property
    def nodes(self) -> Sequence[NodePool]:
        """Every node (scripts are loaded on each)."""
        ...

    def route(self, key: str | bytes | None) -> NodePool:
        """The pool for a command whose first key is ``key`` (None: any node)."""
        ...

    async def open(self) -> None:
        """Connect (failures tolerated: calls reconnect)."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...


class SingleNode:
    """One standalone server."""

    def __init__(self, pool: NodePool) -> None:
        self.pool = pool
        self._nodes = (pool,)

    @property
    def nodes(self) -> Sequence[NodePool]:
        return self._nodes

    def route(self, key: str | bytes | None) -> NodePool:
        return self.pool

    async def open(self) -> None:
        await self.pool.open()

    async def close(self) -> None:
        await self.pool.close()


def key_slot(key: str | bytes) -> int:
    """The Redis Cluster hash slot (0-16383) of ``key``, honouring a ``{hash tag}``.

    Redis hashes with CRC16/XMODEM, which is ``binascii.crc_hqx`` from 0 (in C).
    """
    data = key.encode() if isinstance(key, str) else key
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1 : end]
    return crc_hqx(data, 0) & 0x3FFF
