"""The key helper: one builder, one namespace, and the capabilities' key modules on top."""

from __future__ import annotations

import ast
from pathlib import Path
from uuid import UUID

import pytest

import jeex_cache
from jeex_cache import CacheTag, InvalidInputError, RateLimitWindow
from jeex_cache.core.keys import KeySpace, StorageKey, key, key_prefix
from jeex_cache.progress import keys as progress_keys
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.rate_limit import keys as rate_limit_keys
from jeex_cache.sessions import keys as session_keys
from jeex_cache.tasks import keys as task_keys

PROJECT = UUID("12345678-1234-5678-1234-567812345678")
DIGEST = "ab" * 32
PACKAGE = Path(jeex_cache.__file__).parent


def test_key_puts_the_tag_in_braces_and_joins_the_parts() -> None:
    assert key("sess", DIGEST) == StorageKey(f"sess:{{{DIGEST}}}")
    assert key("proj", "p", "kv", "name").value == "proj:{p}:kv:name"
    assert key_prefix("rl", "user.u1") == "rl:{user.u1}:"


def test_key_space_is_where_the_namespace_goes() -> None:
    keys = KeySpace("ns")
    assert keys(key("queue", "q", "dead")) == "ns:queue:{q}:dead"
    assert keys.prefixed("proj:{p}:") == "ns:proj:{p}:"
    assert keys.glob("tag") == "ns:tag:*"


def test_overlong_keys_are_refused_by_the_builder() -> None:
    with pytest.raises(InvalidInputError):
        key("proj", "x" * 220)


def test_every_key_module_spells_the_names_storage_holds() -> None:
    tag = CacheTag("pricing")
    spelled = {
        project_keys.prefix(PROJECT): f"proj:{{{PROJECT}}}:",
        project_keys.data(PROJECT).value: f"proj:{{{PROJECT}}}:data",
        project_keys.entry(str(PROJECT).upper(), "a.b").value: f"proj:{{{PROJECT}}}:kv:a.b",
        project_keys.index(PROJECT).value: f"proj:{{{PROJECT}}}:index",
        project_keys.tags(PROJECT).value: f"proj:{{{PROJECT}}}:tags",
        project_keys.tag_index(PROJECT, tag).value: f"proj:{{{PROJECT}}}:tag:pricing",
        project_keys.tag_projects(tag).value: "tag:{pricing}:projects",
        session_keys.session_record(DIGEST).value: f"sess:{{{DIGEST}}}",
        session_keys.user_sessions(PROJECT).value: f"user:{{{PROJECT}}}:sessions",
        rate_limit_keys.prefix("ip", "10.0.0.1"): "rl:{ip.10.0.0.1}:",
        rate_limit_keys.rate_limit("user", "u1", RateLimitWindow.DAY, "api").value: (
            "rl:{user.u1}:api.day"
        ),
        progress_keys.progress("op-1").value: "progress:{op-1}",
        progress_keys.progress_events(PROJECT).value: f"progress:{{{PROJECT}}}:events",
        task_keys.task("t-1").value: "task:{t-1}",
        task_keys.task_queue("emails").value: "queue:{emails}",
        task_keys.task_queue_part("emails", "running").value: "queue:{emails}:running",
    }
    for built, expected in spelled.items():
        assert built == expected


def test_the_public_facade_builds_the_same_keys_as_its_public_type() -> None:
    public = jeex_cache.CacheKey
    built = public.project_entry(PROJECT, "x")
    assert type(built) is public
    assert built.value == project_keys.entry(PROJECT, "x").value
    assert public.session_record(DIGEST).value == session_keys.session_record(DIGEST).value
    assert public.rate_limit_prefix("user", "u1") == rate_limit_keys.prefix("user", "u1")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("role", ["keys", "memory", "redis", "service", "api"])
def test_no_repository_or_service_builds_keys_through_the_facade(role: str) -> None:
    modules = sorted(PACKAGE.glob(f"*/{role}.py"))
    assert modules
    for module in modules:
        assert "jeex_cache._keys" not in _imports(module), module
