"""The README's Python examples run, in order, as one session (top-level await allowed)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from jeex_cache import cache_manager

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    """Every fenced ``python`` block of the README."""
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.M | re.S)


def test_the_readme_has_the_spec_example() -> None:
    blocks = python_blocks()
    assert any("cache_manager.invalidate_project_cache(project_id" in b for b in blocks)


async def test_readme_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    namespace: dict[str, object] = {}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            code = compile(
                block, f"README.md block {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            )
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                await result
    finally:
        await cache_manager.close()
    assert namespace["success"] is True
    assert namespace["cached_data"] == namespace["data"]
    assert namespace["invalidated_count"] == 1
    assert namespace["valid_session"].user_data == namespace["user_data"]  # type: ignore[attr-defined]


def test_the_readme_has_the_spec_session_example() -> None:
    blocks = python_blocks()
    assert any("cache_manager.grant_project_access(session.session_id" in b for b in blocks)
    revoke = 'cache_manager.revoke_user_session(session.session_id, "logout")'
    assert any(revoke in b for b in blocks)
