"""Raw RESP2 replies shaped as redis-py shapes them, for the commands repositories use.

The repositories were written against redis-py, which turns some replies into Python
structures; the transport hands back what the server sent. Commands not listed here come
back as sent (bytes, ints, lists), which is what redis-py returns for them too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["SHAPES"]


def _pairs(reply: Any) -> Any:
    if isinstance(reply, list):
        return dict(zip(reply[::2], reply[1::2], strict=True))
    return reply  # a RESP3 map is a dict already


def _scan(reply: Any) -> Any:
    cursor, keys = reply
    return int(cursor), keys


def _info(reply: Any) -> dict[str, Any]:
    text = reply.decode() if isinstance(reply, bytes) else str(reply)
    info: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        try:
            info[key] = int(value)
        except ValueError:
            try:
                info[key] = float(value)
            except ValueError:
                info[key] = value
    return info


SHAPES: dict[str, Callable[[Any], Any]] = {
    "HGETALL": _pairs,
    "SCAN": _scan,
    "INFO": _info,
    "PING": lambda reply: reply == b"PONG" or reply,
}
SHAPES.update({name.lower(): fn for name, fn in list(SHAPES.items())})
"""What turns a command's raw reply into redis-py's shape, by command name (either case)."""
