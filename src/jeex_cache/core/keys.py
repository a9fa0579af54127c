"""Storage keys: the value type, the one builder, and the namespace.

Every key is ``<kind>:{<tag>}[:<part>...]`` relative to the namespace. The ``{<tag>}`` is a
Redis Cluster hash tag: all keys built with one tag share a slot, so one Lua script may touch
them all. Each capability's ``keys.py`` validates the identifiers that enter its keys and calls
``key``; ``KeySpace`` is the only place the configured namespace is put in front.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from jeex_cache.core.errors import InvalidInputError

__all__ = ["KeyCache", "KeySpace", "StorageKey", "key", "key_prefix"]


@dataclass(frozen=True, slots=True)
class StorageKey:
    """A storage key relative to the configured namespace, e.g. ``proj:{<project>}:data``
    (the public ``jeex_cache.CacheKey`` adds a constructor per key)."""

    value: str

    MAX_LENGTH: ClassVar[int] = 216  # 250 minus the longest namespace (32) and its colon

    def __post_init__(self) -> None:
        if len(self.value) > self.MAX_LENGTH:
            raise InvalidInputError(f"key is longer than {self.MAX_LENGTH} characters")

    def __str__(self) -> str:
        return self.value


def key(kind: str, tag: str, *parts: str) -> StorageKey:
    """``<kind>:{<tag>}[:<part>...]``: every key of one ``tag`` shares a cluster slot.

    The parts must be validated already (the capability's ``keys.py`` does it).
    """
    if not parts:
        return StorageKey(f"{kind}:{{{tag}}}")
    return StorageKey(":".join((f"{kind}:{{{tag}}}", *parts)))


def key_prefix(kind: str, tag: str) -> str:
    """``<kind>:{<tag>}:``, what every multi-part key of one ``tag`` starts with (for scripts
    that walk a tag's keys, and for key families whose last part a script appends)."""
    return f"{kind}:{{{tag}}}:"


class KeySpace:
    """The one place the namespace is applied: ``keys(StorageKey) -> "<ns>:<key>"``."""

    __slots__ = ("prefix",)

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{namespace}:"

    def __call__(self, key: StorageKey) -> str:
        return self.prefix + key.value

    def prefixed(self, relative: str) -> str:
        """A relative key prefix (``key_prefix``) under the namespace."""
        return self.prefix + relative

    def glob(self, kind: str) -> str:
        """The SCAN pattern of every key of ``kind`` in the namespace."""
        return f"{self.prefix}{kind}:*"


K = TypeVar("K")
V = TypeVar("V")


class KeyCache(dict[K, V]):
    """Values (keys, encoded commands) built by ``build`` on first use and kept, at most
    ``size`` (all dropped when full; busy projects and sessions are few). A hit is a plain
    dict lookup, no Python call: key a project's by ``id_key(project_id)``, whose hash and
    equality are C code where a UUID's are Python."""

    __slots__ = ("_build", "_size")

    def __init__(self, build: Callable[[K], V], size: int = 10_000) -> None:
        super().__init__()
        self._build = build
        self._size = size

    def __missing__(self, slot: K) -> V:
        if len(self) >= self._size:
            self.clear()
        built = self[slot] = self._build(slot)
        return built
