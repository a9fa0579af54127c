"""The codec refuses NaN and the infinities wherever orjson would have hidden them as null."""

from __future__ import annotations

import dataclasses
import enum
import math
import struct
from collections import OrderedDict
from typing import Any

import orjson
import ormsgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeex_cache.core import codec
from jeex_cache.core.codec import _may_hold_non_finite, encode
from jeex_cache.core.errors import PayloadTooLargeError, SerializationError

NAN = float("nan")


class Level(enum.Enum):
    BROKEN = NAN
    FINE = 0.5


@dataclasses.dataclass
class Point:
    x: float
    label: str | None = None


HIDDEN = {
    "top": NAN,
    "in a list": [1, None, float("inf")],
    "in a tuple": (None, float("-inf")),
    "deep": {"a": [{"b": {"c": [None, NAN]}}]},
    "dict subclass": OrderedDict(a=None, b=NAN),
    "enum value": [None, Level.BROKEN],
    "dataclass field": [None, Point(NAN)],
}


@pytest.mark.parametrize("value", HIDDEN.values(), ids=HIDDEN.keys())
def test_non_finite_is_refused_wherever_it_hides(value: Any) -> None:
    with pytest.raises(SerializationError, match="NaN or an infinity"):
        encode(value, 1 << 20)


FINE = {
    "nulls and floats": {"a": None, "b": [0.0, -0.0, 1e308, 5e-324, None], "c": True},
    "enum and dataclass": [None, Level.FINE, Point(1.5), (None, 2.0)],
    "strings that say nan": {"n": "NaN", "i": "Infinity", "z": None},
}


@pytest.mark.parametrize("value", FINE.values(), ids=FINE.keys())
def test_finite_values_with_nulls_encode(value: Any) -> None:
    assert b"null" in encode(value, 1 << 20)


@dataclasses.dataclass(slots=True)
class Slotted:
    x: float
    _hidden: float = 0.0


def _with_extra_attribute(value: float | None) -> Point:
    point = Point(1.0)
    vars(point)["extra"] = value  # orjson encodes a dataclass's __dict__, extras too
    return point


def test_an_attribute_set_after_init_is_checked_as_orjson_encodes_it() -> None:
    assert b'"extra":null' in encode(_with_extra_attribute(None), 1 << 20)
    with pytest.raises(SerializationError, match="NaN or an infinity"):
        encode([None, _with_extra_attribute(NAN)], 1 << 20)


PRIVATE = {
    "dict": (Point(1.0), b'[null,{"x":1.0,"label":null}]'),
    "slots": (Slotted(1.0), b'[null,{"x":1.0}]'),
}


@pytest.mark.parametrize(("value", "expected"), PRIVATE.values(), ids=PRIVATE.keys())
def test_a_private_field_orjson_leaves_out_is_not_checked(value: Any, expected: bytes) -> None:
    object.__setattr__(value, "_hidden", NAN)
    assert encode([None, value], 1 << 20) == expected


def _nan_with(high: int, low: bytes = b"\x00" * 6) -> float:
    """A NaN (or an infinity) of its own bit pattern: byte 7 is 0xF0-0xFF of the exponent."""
    value: float = struct.unpack("<d", low + bytes([high, 0x7F]))[0]
    return value


def _packed(value: Any) -> bytes:
    """The bytes the codec searches: ``value`` as MessagePack, JSON's own types only."""
    packed: bytes = ormsgpack.packb(value, option=codec._JSON_TYPES_ONLY)
    return packed


SHARED = float("nan")
PACKED = {
    "one object in many places": [SHARED, {"again": SHARED}, (SHARED,)],
    "a signalling NaN": {"x": [None, _nan_with(0xF0, b"\x01" + b"\x00" * 5)]},
    "a NaN with a payload": [None, _nan_with(0xF7, b"\xff" * 6)],
    "negative after many negative integers": [None, *range(-40, 0), float("-inf")],
    "the document itself": float("inf"),
}


@pytest.mark.parametrize("value", PACKED.values(), ids=PACKED.keys())
def test_every_non_finite_bit_pattern_is_refused(value: Any) -> None:
    assert _may_hold_non_finite(_packed(value))
    with pytest.raises(SerializationError, match="NaN or an infinity"):
        encode(value, 1 << 20)


LARGE = {"rows": [{"id": n, "score": n / 7, "note": None, "delta": -n} for n in range(40)]}


def test_a_large_document_is_packed_and_still_refused_for_one_nan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(codec._Packing, "walks_left", 0)
    assert len(orjson.dumps(LARGE)) >= codec._PACKED_FROM
    assert encode(LARGE, 1 << 20) == orjson.dumps(LARGE)
    broken = {"rows": [*LARGE["rows"], {"id": 40, "score": NAN}]}
    monkeypatch.setattr(codec._Packing, "walks_left", 0)
    with pytest.raises(SerializationError, match="NaN or an infinity"):
        encode(broken, 1 << 20)


def test_bytes_that_look_like_a_non_finite_double_are_not_one() -> None:
    look_alike = [
        None,
        "\xf0\x7f\xff",
        0xCB7FF0,
        0xCBFFFF00,
        -1,
        -(2**31),
        2**62 - 1,
        -(2**40),
        1.7976931348623157e308,
    ]
    assert encode(look_alike, 1 << 20) == orjson.dumps(look_alike)


def _non_finite_in(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite_in(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_non_finite_in(item) for item in value)
    return False


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text()
)
DOCUMENTS = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)


def _packs(value: Any) -> bool:
    try:
        _packed(value)
    except TypeError:  # text orjson refuses too (a lone surrogate): the walk decides
        return False
    return True


@given(DOCUMENTS)
def test_packed_bytes_never_hide_a_non_finite_float(value: Any) -> None:
    if _non_finite_in(value) and _packs(value):
        assert _may_hold_non_finite(_packed(value))


@given(DOCUMENTS)
def test_a_document_is_refused_exactly_when_it_holds_a_non_finite_float(value: Any) -> None:
    if _non_finite_in(value):
        with pytest.raises(SerializationError, match="NaN or an infinity"):
            encode(value, 1 << 24)
    else:
        assert encode(value, 1 << 24) == orjson.dumps(value)


def test_none_is_null_within_its_limit_and_too_large_past_it() -> None:
    assert encode(None, 4) == b"null"
    with pytest.raises(PayloadTooLargeError):
        encode(None, 3)
