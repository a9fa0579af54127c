"""The one JSON codec every backend stores values with (orjson: fast, strict)."""

from __future__ import annotations

import dataclasses
import enum
import marshal
from collections.abc import Iterable
from typing import Any

import orjson

from jeex_cache.core.errors import PayloadTooLargeError, SerializationError

__all__ = ["decode", "encode"]

decode = orjson.loads

_NULL = b"null"


def encode(value: Any, max_bytes: int) -> bytes:
    """Encode ``value`` as JSON, refusing what JSON cannot hold or what exceeds ``max_bytes``.

    UUIDs, datetimes, dataclasses and enums are encoded as orjson does. NaN and infinities,
    which JSON has no words for, raise ``SerializationError`` (orjson would write ``null``).
    """
    if value is None and max_bytes >= len(_NULL):  # most task results: no walk for its null
        return _NULL
    try:
        payload = orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise SerializationError(f"value is not JSON-serialisable: {exc}") from None
    # orjson writes a non-finite float as null: only a payload holding a null can hide one.
    if b"null" in payload and _has_non_finite(value, len(payload)):
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


# marshal's format 4 writes every float as a type byte ('g', or 0xE7 with its reference flag)
# and the IEEE 754 double, little-endian. A NaN's or an infinity's exponent bits are all ones:
# its seventh byte is 0xF0 or more, its eighth (eight bytes after the type byte) 0x7F or 0xFF.
# Bytes elsewhere that look like one (in an integer, say) only cost a walk.
_FLOAT_CODES = (0x67, 0xE7)
_FLOAT_SIZE = 8
_EXPONENT_BYTES = (b"\x7f", b"\xff")
_MAX_CANDIDATES = 16  # then walk: a document full of negative integers has many 0xFF bytes
_PACKED_FROM = 512  # JSON bytes; a smaller document is walked faster than it is packed
_WALKS_AFTER_A_MISS = 64  # documents walked straight away after one that packing did not help


class _Packing:
    """Whether documents are packed first: not for a while after one that marshal refused
    or whose bytes did not settle it, so a process whose documents hold UUIDs or datetimes
    (or many negative integers) pays the packing once in ``_WALKS_AFTER_A_MISS`` documents."""

    walks_left = 0


def _has_non_finite(value: Any, size: int) -> bool:
    """True if a NaN or an infinity sits anywhere in ``value`` (already encodable by orjson,
    as ``size`` bytes).

    A document of JSON's own types (dict, list, tuple, str, int, float, bool, None, exactly)
    is packed by marshal, in C, and its bytes searched for a non-finite double: a float whose
    bytes could be one sends the document to the walk, which decides. Anything else marshal
    refuses (a UUID, a datetime, a dataclass, an enum, a subclass): the walk alone decides.
    """
    if size < _PACKED_FROM:
        return _walk(value)
    if _Packing.walks_left:
        _Packing.walks_left -= 1
        return _walk(value)
    try:
        packed = marshal.dumps(value, 4)
    except ValueError:
        _Packing.walks_left = _WALKS_AFTER_A_MISS
        return _walk(value)
    if _may_hold_non_finite(packed):
        _Packing.walks_left = _WALKS_AFTER_A_MISS
        return _walk(value)
    return False


def _may_hold_non_finite(packed: bytes) -> bool:
    """False only if no float in marshal's ``packed`` bytes is a NaN or an infinity."""
    candidates = 0
    for high in _EXPONENT_BYTES:
        at = packed.find(high, _FLOAT_SIZE)
        while at != -1:
            if packed[at - 1] >= 0xF0 and packed[at - _FLOAT_SIZE] in _FLOAT_CODES:
                return True
            candidates += 1
            if candidates > _MAX_CANDIDATES:
                return True
            at = packed.find(high, at + 1)
    return False


def _walk(value: Any) -> bool:
    """True if a NaN or an infinity sits anywhere in ``value``, by walking it.

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
