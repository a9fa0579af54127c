"""The Python examples of the README and of every ``docs/`` page run: each file's blocks in
order, as one session (top-level await allowed)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from jeex_cache import cache_manager

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))


def python_blocks(path: Path = README) -> list[str]:
    """Every fenced ``python`` block of a Markdown file."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.M | re.S)


async def run_blocks(path: Path) -> dict[str, object]:
    """Run the file's blocks in one namespace; return it."""
    namespace: dict[str, object] = {}
    for number, block in enumerate(python_blocks(path), start=1):
        name = f"{path.relative_to(ROOT)} block {number}"
        code = compile(block, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            await result
    return namespace


def test_the_readme_has_the_first_example() -> None:
    blocks = python_blocks()
    assert any("cache_manager.invalidate_project_cache(project_id" in b for b in blocks)


async def test_readme_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    try:
        namespace = await run_blocks(README)
    finally:
        await cache_manager.close()
    assert namespace["success"] is True
    assert namespace["cached_data"] == namespace["data"]
    assert namespace["invalidated_count"] == 1
    assert namespace["valid_session"].user_data == namespace["user_data"]  # type: ignore[attr-defined]


def test_the_readme_has_the_session_example() -> None:
    blocks = python_blocks()
    assert any("cache_manager.grant_project_access(session.session_id" in b for b in blocks)
    revoke = 'cache_manager.revoke_user_session(session.session_id, "logout")'
    assert any(revoke in b for b in blocks)


def test_the_readme_tours_every_capability() -> None:
    """One example per capability, each followed by a link to its page."""
    text = README.read_text()
    for call, page in [
        ("write_project_data(", "docs/project-cache.md"),
        ("for_session(", "docs/sessions.md"),
        ("check_rate_limit(", "docs/rate-limits.md"),
        ("start_progress_tracking(", "docs/progress.md"),
        ("enqueue_task(", "docs/tasks.md"),
        ("health_check(", "docs/operations.md"),
    ]:
        assert any(call in b for b in python_blocks()), call
        assert f"]({page})" in text, page


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
async def test_docs_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    namespace = await run_blocks(page)
    assert namespace  # at least the imports ran
