"""Layering: core imports no capability and no configuration; no capability imports another,
or the house above it (the manager, ``bootstrap.py``, the integrations); ``web/`` and
``fastapi/`` use public modules only; no module imports itself back through others.

The import graph is ``scripts/architecture_counts.py``'s, which the closing notes quote.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import jeex_cache

PACKAGE = Path(jeex_cache.__file__).parent
SOURCE = PACKAGE.parent
CORE = sorted(str(path.relative_to(PACKAGE / "core")) for path in (PACKAGE / "core").rglob("*.py"))


def _counts() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "architecture_counts.py"
    spec = importlib.util.spec_from_file_location("architecture_counts", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


COUNTS = _counts()
CAPABILITIES: tuple[str, ...] = COUNTS.CAPABILITIES
MODULES: dict[str, Path] = COUNTS.modules(SOURCE)
CAPABILITY_MODULES = sorted(
    name for name in MODULES if name.split(".")[1:2] in ([c] for c in CAPABILITIES)
)
INTEGRATION_MODULES = sorted(
    name for name in MODULES if name.split(".")[1:2] in (["web"], ["fastapi"])
)
ACROSS, UPWARD = COUNTS.cross_capability_imports(SOURCE)
# What the integrations may import: the public package and manager, configuration, the
# shared kernel (errors, identifiers, TTLs, addresses), metrics, extras, and themselves
# (the reference service also builds on the public integration).
PUBLIC_FOR_INTEGRATIONS = (
    "jeex_cache",
    "jeex_cache.manager",
    "jeex_cache.config",
    "jeex_cache.metrics",
    "jeex_cache.extras",
)
PUBLIC_PACKAGES = ("jeex_cache.core.", "jeex_cache.fastapi")


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


def test_every_capability_has_modules() -> None:
    for capability in CAPABILITIES:
        assert f"jeex_cache.{capability}.api" in CAPABILITY_MODULES


@pytest.mark.parametrize("module", CAPABILITY_MODULES)
def test_a_capability_module_imports_no_other_capability_and_nothing_above(module: str) -> None:
    assert [line for line in ACROSS + UPWARD if line.startswith(f"{module} -> ")] == []


@pytest.mark.parametrize("module", INTEGRATION_MODULES)
def test_the_integrations_import_public_modules_only(module: str) -> None:
    path = MODULES[module]
    own = "jeex_cache.fastapi" if module.startswith("jeex_cache.fastapi") else "jeex_cache.web"
    for name in _imports(path):
        public = name in PUBLIC_FOR_INTEGRATIONS or name.startswith((*PUBLIC_PACKAGES, own))
        assert public, f"{module} imports {name}: use the manager or a public name"


def test_no_import_cycles() -> None:
    assert COUNTS.find_cycles(SOURCE) == []
