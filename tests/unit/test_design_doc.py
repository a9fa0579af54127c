"""``docs/design.md`` names only modules that exist: every ``something.py`` and every dotted
``jeex_cache.x.y`` it mentions (logger names aside)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"
PACKAGE = ROOT / "src" / "jeex_cache"
FILE = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.py)\b")
DOTTED = re.compile(r"\bjeex_cache(?:\.\w+)+")
TREES = ("src", "tests", "benchmarks", "scripts", "examples")
LOGGER = re.compile(r"getLogger\(\"(jeex_cache[\w.]*)\"\)")


def _python_files() -> list[str]:
    """Every Python file of the repository, as a path from the repository root."""
    found = [str(p.relative_to(ROOT)) for tree in TREES for p in (ROOT / tree).rglob("*.py")]
    return [path for path in found if "/.venv/" not in path]


def _exists(name: str, files: list[str]) -> bool:
    """A bare ``x.py`` exists somewhere; ``a/b.py`` is a path ending the same way."""
    return any(path == name or path.endswith(f"/{name}") for path in files)


def _resolves(dotted: str) -> bool:
    """The longest importable prefix of ``dotted`` holds the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def missing_modules(text: str) -> list[str]:
    """What ``text`` names that does not exist."""
    files = _python_files()
    missing = [name for name in FILE.findall(text) if not _exists(name, files)]
    loggers = {name for p in PACKAGE.rglob("*.py") for name in LOGGER.findall(p.read_text())}
    dotted = set(DOTTED.findall(text)) - loggers
    missing += [name for name in dotted if not _resolves(name)]
    return sorted(set(missing))


def test_the_design_names_only_modules_that_exist() -> None:
    assert missing_modules(DESIGN.read_text()) == []


def test_the_check_can_fail() -> None:
    text = "`core/_gate.py` and `wiring.py`, `jeex_cache.project_cache.wiring.PROJECT_CACHE`"
    assert missing_modules(text) == [
        "core/_gate.py",
        "jeex_cache.project_cache.wiring.PROJECT_CACHE",
        "wiring.py",
    ]
    assert missing_modules("`core/keys.py`, `jeex_cache.testing.RedisServer`") == []
