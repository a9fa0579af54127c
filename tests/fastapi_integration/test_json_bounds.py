"""The byte scan of a JSON body agrees with the parsed document's depth, whatever its strings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeex_cache.core.errors import InvalidInputError
from jeex_cache.fastapi.json_bounds import JsonShapeError, check_json_shape

TEXT = st.text(alphabet='[]{},:"\\ab\u00e9\u2028', max_size=6)  # structure-like characters
DOCUMENTS = st.recursive(
    st.none() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(DOCUMENTS, st.integers(min_value=1, max_value=12), st.booleans())
def test_the_scan_refuses_exactly_what_nests_too_deep(
    document: Any, max_depth: int, ascii_only: bool
) -> None:
    raw = json.dumps(document, ensure_ascii=ascii_only).encode()
    try:
        check_json_shape(raw, max_depth=max_depth, max_elements=10**9)
    except JsonShapeError:
        assert depth(document) > max_depth
    else:
        assert depth(document) <= max_depth


def test_elements_count_containers_and_separators_not_text() -> None:
    raw = b'{"a,b:[": [1, 2, {}], "c": "}}}"}'  # { [ { plus 3 commas and 2 colons
    check_json_shape(raw, max_depth=3, max_elements=8)
    with pytest.raises(JsonShapeError, match="HTTP_MAX_JSON_ELEMENTS"):
        check_json_shape(raw, max_depth=3, max_elements=7)


def test_a_deep_narrow_document_is_measured_not_peeled() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(JsonShapeError, match="deeper than 64"):
        check_json_shape(raw, max_depth=64, max_elements=10**9)
    check_json_shape(b"[" * 64 + b"]" * 64, max_depth=64, max_elements=10**9)


@pytest.mark.parametrize("raw", [b"[[[", b"[}}", b"][", b"[[]]]]" + b"[]" * 40])
def test_unpaired_brackets_are_malformed(raw: bytes) -> None:
    with pytest.raises(InvalidInputError, match="do not pair up"):
        check_json_shape(raw, max_depth=64, max_elements=10**9)
