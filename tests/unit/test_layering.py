"""Layering: core imports no capability and no configuration; a capability's storage modules
import no other capability."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jeex_cache

PACKAGE = Path(jeex_cache.__file__).parent
CORE = sorted(str(path.relative_to(PACKAGE / "core")) for path in (PACKAGE / "core").rglob("*.py"))
CAPABILITIES = ["project_cache", "sessions", "rate_limit", "progress", "tasks", "observability"]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("jeex_cache")}


@pytest.mark.parametrize("module", CORE)
def test_core_imports_only_core(module: str) -> None:
    for name in _imports(PACKAGE / "core" / module):
        assert name.startswith("jeex_cache.core"), name


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_storage_modules_import_no_other_capability(capability: str) -> None:
    others = [c for c in CAPABILITIES if c != capability]
    for role in ("memory", "redis", "keys"):
        path = PACKAGE / capability / f"{role}.py"
        if not path.exists():
            continue
        for name in _imports(path):
            assert not any(name.startswith(f"jeex_cache.{other}") for other in others), name
