"""The one JSON codec every backend stores values with (orjson: fast, strict)."""

from __future__ import annotations

from typing import Any

import orjson

from jeex_cache.errors import PayloadTooLargeError, SerializationError

__all__ = ["decode", "encode"]

decode = orjson.loads


def encode(value: Any, max_bytes: int) -> bytes:
    """Encode ``value`` as JSON, refusing what JSON cannot hold or what exceeds ``max_bytes``.

    UUIDs, datetimes, dataclasses and enums are encoded as orjson does; NaN and infinities,
    which JSON has no words for, become ``null``.
    """
    try:
        payload = orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise SerializationError(f"value is not JSON-serialisable: {exc}") from None
    if len(payload) > max_bytes:
        raise PayloadTooLargeError(
            f"encoded value is {len(payload)} bytes, over the limit of {max_bytes} "
            "(CACHE_MAX_PAYLOAD_BYTES)"
        )
    return payload
