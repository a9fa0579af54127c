"""The docs stay true: every setting documented with its real default, every link resolving
inside the repository, every public call of the manager described, no reader sent to a
document they do not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from jeex_cache import CacheManager, Settings
from jeex_cache._env import SPEC_NAMES, prefixed, variable

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
FILES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \| ([^|]*) \|", re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documented_rows() -> dict[str, tuple[str, str]]:
    """Variable -> (bare-name cell, default cell) of every row of the configuration tables."""
    rows = ROW.findall(CONFIGURATION.read_text())
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names)), "a variable is documented twice"
    return {name: (bare.strip(), cell.strip().replace("`", "")) for name, bare, cell in rows}


def documented_defaults() -> dict[str, str]:
    """Variable -> default cell of every row of the configuration tables."""
    return {name: default for name, (_, default) in documented_rows().items()}


def matches(default: object, cell: str) -> bool:
    """Whether a documented default cell states the field's real default."""
    if default is None or isinstance(default, SecretStr):
        return cell.startswith("unset")
    if isinstance(default, bool):
        return cell == str(default).lower()
    if isinstance(default, int | float):
        try:
            return float(cell.split()[0]) == float(default)
        except ValueError:
            return False
    if default == "":
        return cell == "empty"
    return cell == default


def variable_of(field: str) -> str:
    """The environment variable of a setting (``JEEX_`` and its bare name)."""
    return prefixed(field)


def test_every_setting_shows_its_bare_name_and_whether_it_is_deprecated() -> None:
    rows = documented_rows()
    for field in Settings.model_fields:
        suffix = "" if field in SPEC_NAMES else " (deprecated)"
        assert rows[prefixed(field)][0] == f"`{variable(field)}`{suffix}", field


def test_every_setting_is_documented_with_its_default() -> None:
    documented = documented_defaults()
    problems = []
    for field, info in Settings.model_fields.items():
        variable = variable_of(field)
        if variable not in documented:
            problems.append(f"{variable} is missing from docs/configuration.md")
        elif not matches(info.default, documented[variable]):
            problems.append(f"{variable}: documented {documented[variable]!r}, is {info.default!r}")
    assert not problems, "\n".join(problems)


def test_no_documented_setting_is_stale() -> None:
    fields = {variable_of(field) for field in Settings.model_fields}
    assert set(documented_defaults()) <= fields


def test_the_default_check_can_fail() -> None:
    assert not matches(0.25, "2")
    assert not matches(None, "20")
    assert not matches(True, "false")
    assert matches(2.0, "2")
    assert matches(None, "unset (JEEX_REDIS_SOCKET_TIMEOUT)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(path: Path) -> None:
    broken = []
    for target in LINK.findall(path.read_text()):
        if target.startswith(("https://keepachangelog.com", "https://semver.org")):
            continue
        assert not target.startswith(("http:", "https:")), f"{target}: outside the repository"
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        missing = not linked.is_relative_to(ROOT) or not linked.exists()
        if missing or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{path.name}: {broken}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_to_documents_the_reader_lacks(path: Path) -> None:
    text = path.read_text()
    for pattern in (r"\bspec(s|'s|ification)?\b", r"\.\./shared", r"\bissue \d+", r"#\d+\b"):
        found = re.search(pattern, text, flags=re.I)
        assert found is None, f"{path.name}: {found.group(0) if found else ''!r}"


def public_calls() -> set[str]:
    """The manager's public methods (properties and attributes left out)."""
    calls = set()
    for name in dir(CacheManager):
        if name.startswith("_"):
            continue
        member = getattr(CacheManager, name)
        if callable(member) and not isinstance(member, type):
            calls.add(name)
    return calls - {"initialize", "close"}


def test_every_public_call_is_documented() -> None:
    text = "\n".join(path.read_text() for path in [ROOT / "README.md", *DOCS.glob("*.md")])
    missing = sorted(name for name in public_calls() if f"{name}(" not in text)
    assert not missing, f"document these calls in docs/: {missing}"
