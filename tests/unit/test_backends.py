"""The backend registry: one opener per URL scheme, imported on first use."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import jeex_cache.backends
from jeex_cache import ManualClock, Settings
from jeex_cache.backends import SCHEMES, open_backend
from jeex_cache.config import BACKEND_SCHEMES


def test_every_accepted_scheme_has_a_backend_and_no_other() -> None:
    assert set(SCHEMES) == BACKEND_SCHEMES


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_each_opener_is_an_async_function_of_settings_and_clock(scheme: str) -> None:
    module, _, function = SCHEMES[scheme].partition(":")
    opener = getattr(importlib.import_module(module), function)
    assert inspect.iscoroutinefunction(opener)
    assert list(inspect.signature(opener).parameters) == ["settings", "clock"]


def test_the_registry_imports_no_backend() -> None:
    tree = ast.parse(Path(jeex_cache.backends.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"jeex_cache._memory_backend", "jeex_cache._redis_backend"}


@pytest.mark.parametrize("url", [None, "memory://"])
async def test_memory_urls_open_the_in_process_backend(url: str | None) -> None:
    backend = await open_backend(Settings(redis_url=url), ManualClock())
    try:
        assert backend.name == "memory"
    finally:
        await backend.close()
