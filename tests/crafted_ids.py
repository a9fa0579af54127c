"""The hostile corpus of project and user IDs: each one is refused wherever an ID is taken."""

from __future__ import annotations

from uuid import UUID

import pytest

from jeex_cache.core.identifiers import MAX_ID_LENGTH

__all__ = ["CRAFTED_IDS"]

PROJECT = UUID("12345678-1234-5678-1234-567812345678")

# Every one of these is refused as a project or user ID, wherever one is taken.
CRAFTED_IDS: list[object] = [
    "",
    "x" * (MAX_ID_LENGTH + 1),
    "7" * (MAX_ID_LENGTH + 1),
    ".",
    "..",
    "...",
    "-",
    "-1",
    "--all",
    "a b",
    " 42",
    "42 ",
    "42\n",
    "a\tb",
    "a\x00b",
    "a\r\nFLUSHALL",
    "a:b",
    "proj:{x}",
    "{42}",
    "42}",
    "{",
    "a@b",
    "@42@",
    "*",
    "a*",
    "a?",
    "[a]",
    "a/b",
    "../42",
    "a\\b",
    "a%2Fb",
    "\uff41\uff43\uff4d\uff45",  # full-width letters
    "\u0664\u0662",  # Arabic-Indic digits that int() would read as 42
    "4\uff12",  # a full-width digit
    "\u0430\u0441\u043c\u0435",  # Cyrillic lookalikes of "acme"
    "acm\u0435",  # one Cyrillic "e"
    "\u0661\u0662" * 16,  # 32 Arabic-Indic digits: no UUID
    "+1234567812345678123456781234567",  # int(..., 16) would take the sign
    f"{PROJECT}:x",
    f"{{{PROJECT}",
    f"urn:uuid:{PROJECT}x",
    -1,
    True,
    False,
    10**MAX_ID_LENGTH,  # 65 digits
    pytest.param(10**5000, id="an int too long to print"),  # str() would raise ValueError
    1.0,
    None,
    b"42",
    ["42"],
]
