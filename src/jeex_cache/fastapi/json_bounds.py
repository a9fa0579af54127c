"""A JSON body's shape, bounded before any Python object is built from it.

A byte of JSON can become 20 or more bytes of Python objects: a megabyte of ``[],[],...`` is
some 350,000 lists. ``check_json_shape`` scans the raw bytes, at C speed and without parsing
them, and refuses a document nested deeper than ``max_depth`` or with more than
``max_elements`` elements. Each opened array or object and each separator (``,`` and ``:``)
is one element: about one per value. Text inside strings is not structure, and is skipped.

Brackets that do not pair up (outside strings) are malformed JSON, refused here too: the
parser would recurse into them before it found the error.
"""

from __future__ import annotations

import re
from itertools import accumulate

from jeex_cache.core.errors import InvalidInputError, PayloadTooLargeError

__all__ = ["JsonShapeError", "check_json_shape"]

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")  # the parser checks that the kinds match
_STEPS = bytes.maketrans(b"[]", b"\x01\xff")


class JsonShapeError(PayloadTooLargeError):
    """A JSON document too deep or with too many elements (HTTP 413)."""


def check_json_shape(raw: bytes, *, max_depth: int, max_elements: int) -> None:
    """Raise ``JsonShapeError`` if ``raw`` nests deeper than ``max_depth`` or holds more
    than ``max_elements`` elements, ``InvalidInputError`` if its brackets do not pair up."""
    structure = _STRING.sub(b"", raw)
    elements = sum(structure.count(mark) for mark in (b"[", b"{", b",", b":"))
    if elements > max_elements:
        raise JsonShapeError(
            f"the JSON body has about {elements} elements, over the limit of {max_elements} "
            "(HTTP_MAX_JSON_ELEMENTS)"
        )
    if _deeper_than(structure.translate(_ONE_KIND, _NOT_BRACKETS), max_depth):
        raise JsonShapeError(
            f"the JSON body nests deeper than {max_depth} levels (HTTP_MAX_JSON_DEPTH)"
        )


def _deeper_than(brackets: bytes, max_depth: int) -> bool:
    """Whether the brackets nest deeper than ``max_depth``.

    Each pass strips the innermost pairs, one level. Most documents are mostly leaves, so a
    few passes leave nothing; while a pass still halves what is left that is the quickest
    way. A deep, narrow rest is measured by a running sum (one step per bracket) instead.
    """
    for level in range(max_depth):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            raise _unpaired()
        if len(shorter) * 2 > len(brackets):
            return _depth(shorter) > max_depth - level - 1
        brackets = shorter
    return bool(brackets)


def _depth(brackets: bytes) -> int:
    steps = memoryview(brackets.translate(_STEPS)).cast("b")  # +1 per opening, -1 per closing
    depths = list(accumulate(steps))
    if not depths or depths[-1] != 0 or min(depths) < 0:
        raise _unpaired()
    return max(depths)


def _unpaired() -> InvalidInputError:
    return InvalidInputError("the body is not valid JSON: its brackets do not pair up")
