"""Lua scripts are found by the package: loading one registers it for the start-up preload."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jeex_cache
import jeex_cache.bootstrap  # imports every capability's Redis module
from jeex_cache.core.scripts import LuaScript, loaded

PACKAGE = Path(jeex_cache.__file__).parent


def _source(path: Path) -> bytes:
    """A script's source as loaded: the task scripts start with their library."""
    if path.parent.parent.name == "tasks" and path.stem != "task_interrupt":
        return (path.parent / "_task_lib.lua").read_bytes() + path.read_bytes()
    return path.read_bytes()


def test_every_shipped_script_is_registered_once_its_repository_is_imported() -> None:
    shipped = {
        path.stem: hashlib.sha1(_source(path)).hexdigest().encode()
        for path in PACKAGE.glob("*/lua/*.lua")
        if not path.stem.startswith("_")  # a library of shared functions, not a script
    }
    assert len(shipped) >= 28
    registered = {script.name: script.sha for script in loaded()}
    assert registered == shipped


def test_loading_a_script_again_registers_it_once() -> None:
    before = loaded()
    again = LuaScript.load("jeex_cache.tasks.redis", "task_claim", library="_task_lib")
    assert again in before
    assert loaded() == before
