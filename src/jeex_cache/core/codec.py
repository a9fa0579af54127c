"""The one JSON codec every backend stores values with (orjson: fast, strict)."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from typing import Any

import orjson
import ormsgpack

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
    if payload.find(_NULL) >= 0 and _has_non_finite(value, len(payload)):
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


# Packed as MessagePack (ormsgpack, in C, about as fast as orjson.dumps), every float is the
# byte 0xCB and the IEEE 754 double, big-endian. A NaN's or an infinity's exponent bits are all
# ones: its first byte is 0x7F or 0xFF, its second 0xF0 or more. UTF-8 text never holds 0xCB
# before 0x7F or 0xFF, so a match is either a non-finite float or bytes inside a number that
# look like one, which only cost a walk.
_NON_FINITE = re.compile(rb"\xcb[\x7f\xff][\xf0-\xff]")
# Every type outside JSON's own is refused, so only dict, list, tuple, str, int, float, bool
# and None (exactly) are packed, and each float is packed as the double it is.
_JSON_TYPES_ONLY = (
    ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
    | ormsgpack.OPT_PASSTHROUGH_SUBCLASS
    | ormsgpack.OPT_PASSTHROUGH_UUID
    | ormsgpack.OPT_PASSTHROUGH_BIG_INT
)
_PACKED_FROM = 256  # JSON bytes; a smaller document is walked faster than it is packed
_WALKS_AFTER_A_MISS = 64  # documents walked straight away after one that packing did not help


class _Packing:
    """Whether documents are packed first: not for a while after one that packing refused
    or whose bytes did not settle it, so a process whose documents hold UUIDs or datetimes
    (or numbers whose bytes look like a non-finite float) pays the packing once in
    ``_WALKS_AFTER_A_MISS`` documents."""

    walks_left = 0


def _has_non_finite(value: Any, size: int) -> bool:
    """True if a NaN or an infinity sits anywhere in ``value`` (already encodable by orjson,
    as ``size`` bytes).

    A document of JSON's own types (dict, list, tuple, str, int, float, bool, None, exactly)
    is packed as MessagePack, in C, and its bytes searched for a non-finite double: bytes that
    could be one send the document to the walk, which decides. Anything else the packing
    refuses (a UUID, a datetime, a dataclass, an enum, a subclass): the walk alone decides.
    """
    if size < _PACKED_FROM:
        return _walk(value)
    if _Packing.walks_left:
        _Packing.walks_left -= 1
        return _walk(value)
    try:
        packed = ormsgpack.packb(value, option=_JSON_TYPES_ONLY)
    except TypeError:  # ormsgpack.MsgpackEncodeError is a TypeError
        _Packing.walks_left = _WALKS_AFTER_A_MISS
        return _walk(value)
    if _may_hold_non_finite(packed):
        _Packing.walks_left = _WALKS_AFTER_A_MISS
        return _walk(value)
    return False


def _may_hold_non_finite(packed: bytes) -> bool:
    """False only if no float in MessagePack's ``packed`` bytes is a NaN or an infinity."""
    if packed.find(b"\x7f") < 0 and packed.find(b"\xff") < 0:  # memchr, twice: the usual answer
        return False
    return _NON_FINITE.search(packed) is not None


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
