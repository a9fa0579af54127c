"""The codec refuses NaN and the infinities wherever orjson would have hidden them as null."""

from __future__ import annotations

import dataclasses
import enum
from collections import OrderedDict
from typing import Any

import pytest

from jeex_cache.core.codec import encode
from jeex_cache.core.errors import SerializationError

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
