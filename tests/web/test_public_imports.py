"""The reference service eats its own cooking: ``jeex_cache.web`` and ``jeex_cache.cli``
import nothing private from the library (issue 23).

A name is private when it, or a module on its path, starts with ``_`` (dunders such as
``__version__`` are public). Imports inside the service's own package are its business;
everything else of ``jeex_cache`` must be reached through public names.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import jeex_cache

ROOT = Path(jeex_cache.__file__).parent
SERVICE = ("web", "cli")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_package(module: str, package: str) -> bool:
    return module == f"jeex_cache.{package}" or module.startswith(f"jeex_cache.{package}.")


def private_imports(source: str, package: str) -> list[str]:
    """Every ``jeex_cache`` name outside ``package`` that ``source`` imports privately."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [(node.module, [alias.name for alias in node.names])]
        elif isinstance(node, ast.Import):
            modules = [(alias.name, []) for alias in node.names]
        else:
            continue
        for module, names in modules:
            if not module.startswith("jeex_cache") or _own_package(module, package):
                continue
            if any(_private(part) for part in module.split(".")):
                found.append(module)
            found.extend(f"{module}.{name}" for name in names if _private(name))
    return found


def service_files() -> list[tuple[str, Path]]:
    return [
        (package, path) for package in SERVICE for path in sorted((ROOT / package).rglob("*.py"))
    ]


@pytest.mark.parametrize(
    ("package", "path"), service_files(), ids=lambda value: getattr(value, "name", value)
)
def test_the_reference_service_imports_only_public_names(package: str, path: Path) -> None:
    if path.name != "__main__.py":  # that one runs the command line
        relative = path.relative_to(ROOT.parent).with_suffix("")
        importlib.import_module(".".join(relative.parts).removesuffix(".__init__"))
    assert private_imports(path.read_text(encoding="utf-8"), package) == [], path


def test_the_check_finds_private_names() -> None:
    source = (
        "from jeex_cache._extras import require_extra\n"
        "from jeex_cache.fastapi.sessions import _bearer\n"
        "import jeex_cache._keys\n"
        "from jeex_cache import __version__\n"
        "from jeex_cache.web._own import helper\n"
        "from jeex_cache.fastapi import install\n"
    )
    assert private_imports(source, "web") == [
        "jeex_cache._extras",
        "jeex_cache.fastapi.sessions._bearer",
        "jeex_cache._keys",
    ]


# Calls of the library's private methods that the service still makes, each with what would
# replace it. The project cache has no public call yet that tells a failed invalidation from
# one that removed nothing (issue 23: ``project_cache/`` was out of this change's reach).


def private_calls(source: str) -> set[str]:
    """Private methods ``source`` calls on an object other than ``self`` or ``cls``."""
    calls = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if _private(node.func.attr):
            calls.add(node.func.attr)
    return calls


def test_the_service_calls_no_private_method() -> None:
    found = {
        (path.name, name)
        for _, path in service_files()
        for name in private_calls(path.read_text(encoding="utf-8"))
    }
    assert found == set()
