"""The URL schemes: each opens one kind of backend, and ``bootstrap.py`` opens each kind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jeex_cache.backends
from jeex_cache import ManualClock, Settings
from jeex_cache.backends import SCHEMES, backend_kind
from jeex_cache.bootstrap import open_backend
from jeex_cache.config import BACKEND_SCHEMES


def test_every_accepted_scheme_has_a_backend_and_no_other() -> None:
    assert set(SCHEMES) == BACKEND_SCHEMES
    assert set(SCHEMES.values()) == {"memory", "redis"}


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_each_scheme_names_its_kind(scheme: str) -> None:
    url = "memory://" if scheme == "memory" else f"{scheme}://localhost:6379/0"
    assert backend_kind(Settings(redis_url=url)) == SCHEMES[scheme]


def test_the_schemes_module_imports_no_backend_and_no_capability() -> None:
    tree = ast.parse(Path(jeex_cache.backends.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert {name for name in imported if name.startswith("jeex_cache")} <= {
        "jeex_cache.config",
        "jeex_cache.core.circuit_breaker",
        "jeex_cache.core.clock",
        "jeex_cache.core.executor",  # for a type only
        "jeex_cache.core.memory_budget",  # for a type only
    }


@pytest.mark.parametrize("url", [None, "memory://"])
async def test_memory_urls_open_the_in_process_backend(url: str | None) -> None:
    backend = await open_backend(Settings(redis_url=url), ManualClock())
    try:
        assert backend.name == "memory"
    finally:
        await backend.close()
