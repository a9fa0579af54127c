"""The one JSON codec every backend stores values with (orjson: fast, strict)."""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

import orjson

from jeex_cache.core.errors import PayloadTooLargeError, SerializationError

__all__ = ["decode", "encode"]

decode = orjson.loads


def encode(value: Any, max_bytes: int) -> bytes:
    """Encode ``value`` as JSON, refusing what JSON cannot hold or what exceeds ``max_bytes``.

    UUIDs, datetimes, dataclasses and enums are encoded as orjson does. NaN and infinities,
    which JSON has no words for, raise ``SerializationError`` (orjson would write ``null``).
    """
    try:
        payload = orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise SerializationError(f"value is not JSON-serialisable: {exc}") from None
    # orjson writes a non-finite float as null: only a payload holding a null can hide one.
    if b"null" in payload and _has_non_finite(value):
        raise SerializationError(
            "value holds NaN or an infinity, which JSON cannot represent: "
            "send null or a finite number instead"
        )
    if len(payload) > max_bytes:
        raise PayloadTooLargeError(
            f"encoded value is {len(payload)} bytes, over the limit of {max_bytes} "
            "(JEEX_CACHE_MAX_PAYLOAD_BYTES)"
        )
    return payload


def _has_non_finite(value: Any) -> bool:
    """True if a float that is NaN or infinite sits anywhere in ``value`` (already encodable,
    so its nesting is bounded by orjson's depth limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, enum.Enum):
            stack.append(item.value)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return False
