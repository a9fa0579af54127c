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
