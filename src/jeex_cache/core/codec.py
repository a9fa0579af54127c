"""The one JSON codec every backend stores values with (orjson: fast, strict)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
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
    """True if a NaN or an infinity sits anywhere in ``value`` (already encodable by orjson).

    One frame for the whole walk, dispatching on exact types, the JSON ones first; anything
    else (subclasses, enums, dataclasses) goes through ``_children``. ``x - x`` is 0.0 for a
    finite float and NaN (truthy) for NaN and the infinities.
    """
    stack: list[Iterable[Any]] = [(value,)]
    while stack:
        for item in stack.pop():
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if kind is float:
                if item - item:
                    return True
            elif kind is dict:
                stack.append(item.values())
            elif kind is list or kind is tuple:
                stack.append(item)
            else:
                stack.append(_children(item))
    return False


def _children(item: object) -> Iterable[Any]:
    """What orjson would encode inside ``item``, a value of a type outside JSON's own (orjson
    refuses float subclasses, so none reaches here)."""
    if isinstance(item, dict):
        return item.values()
    if isinstance(item, list | tuple):
        return item
    if isinstance(item, enum.Enum):
        return (item.value,)
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        # As orjson does: the instance's __dict__ if it has one (attributes set after
        # __init__ included), else its fields; a name with a leading underscore is left out.
        if hasattr(item, "__dict__"):
            return [value for name, value in vars(item).items() if not name.startswith("_")]
        names = [field.name for field in dataclasses.fields(item)]
        return [getattr(item, name) for name in names if not name.startswith("_")]
    return ()
