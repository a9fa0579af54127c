"""What a warming command line reads: a loader named ``module:function``, and project IDs."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from jeex_cache import InvalidInputError
from jeex_cache.core.identifiers import parse_id
from jeex_cache.project_cache.warm import import_loader, read_project_ids


def test_import_loader_finds_a_function_and_refuses_the_rest() -> None:
    found: object = import_loader("jeex_cache.core.identifiers:parse_id")
    assert found is parse_id
    for bad in ("jeex_cache", "no.such.module:f", "jeex_cache.core.identifiers:missing",
                "jeex_cache.core.keys:__all__"):  # fmt: skip
        with pytest.raises(InvalidInputError):
            import_loader(bad)


def test_read_project_ids_from_args_and_a_file(tmp_path: Path) -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# projects\n{b}\n\n{c}  # the big one\n{a}\n")
    assert read_project_ids([str(a)], listing) == [a, b, c]
    assert read_project_ids(["42", "acme.eu", str(a).upper(), "42"]) == ["42", "acme.eu", a]
    with pytest.raises(InvalidInputError):
        read_project_ids(["not/an-id"])
