"""Lua scripts shipped as package data, and the registry the Redis backend preloads from.

Each capability keeps its scripts in its own ``lua/`` folder and loads each one once, at import
(``LuaScript.load(__name__, "project_set")``). Loading registers the script, so the backend's
start-up ``SCRIPT LOAD`` covers every script of every imported capability: no list to keep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

__all__ = ["Command", "EncodedArg", "LuaScript", "ScriptCall", "loaded"]

EncodedArg = str | bytes | int | float
Command = tuple[EncodedArg, ...]

_LOADED: dict[bytes, LuaScript] = {}  # by SHA1: a script loaded twice is registered once


@dataclass(frozen=True, slots=True)
class LuaScript:
    """A Lua script shipped as package data, with its SHA1 computed locally."""

    name: str
    source: str
    sha: bytes  # hex digest, pre-encoded
    durable: bool = False  # a write that must reach a replica before it is acknowledged

    @classmethod
    def load(
        cls, owner: str, name: str, durable: bool = False, library: str | None = None
    ) -> LuaScript:
        """Read ``lua/<name>.lua`` from the package of module ``owner`` (pass ``__name__``),
        and register it for the start-up preload. ``library`` names a ``lua/<library>.lua``
        of shared functions put in front of it."""
        package = owner.rpartition(".")[0]
        folder = resources.files(package)
        source = folder.joinpath(f"lua/{name}.lua").read_text()
        if library is not None:
            source = folder.joinpath(f"lua/{library}.lua").read_text() + source
        digest = hashlib.sha1(source.encode()).hexdigest().encode()
        script = cls(name, source, digest, durable)
        return _LOADED.setdefault(script.sha, script)


def loaded() -> tuple[LuaScript, ...]:
    """Every script loaded so far, in load order (the Redis backend preloads them)."""
    return tuple(_LOADED.values())


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """One script call of a ``RedisExecutor.batch``."""

    script: LuaScript
    keys: Sequence[str]
    args: Sequence[EncodedArg] = ()
