"""The project cache's keys: one hash tag per project, ``proj:{<project>}:...``.

``data`` and ``kv:<name>`` are entries, ``index`` lists the entries by expiry, ``tags`` the
tags in use, ``tag:<name>`` the entries carrying one tag and ``fills`` the fill tokens of the
loads in flight (entry key -> token and tags). ``lease:<entry>``, ``lease-waiters:<entry>``
and ``lease-done:<entry>`` are an entry's load lease, its waiters and their wake-up list
(``<entry>`` is ``data`` or ``kv:<name>``). ``tag:{<name>}:projects`` (the tag's own slot)
lists the projects holding a tag, or a load in flight carrying it, for invalidation across
projects.

``KeyCache`` keeps namespaced keys once built: formatting an ID and validating a name cost
more than the rest of a read's Python work.
"""

from __future__ import annotations

from dataclasses import dataclass

from jeex_cache.core.identifiers import (
    IdKey,
    ProjectId,
    id_of_key,
    parse_id,
    validate_name,
)
from jeex_cache.core.keys import KeyCache, KeySpace, StorageKey, key, key_prefix
from jeex_cache.project_cache.model import CacheTag

__all__ = [
    "KIND",
    "TAG_KIND",
    "LeaseKeys",
    "data",
    "entry",
    "entry_keys",
    "fills",
    "index",
    "item",
    "lease",
    "prefix",
    "tag_index",
    "tag_projects",
    "tags",
]

KIND = "proj"  # the kind of every key of one project
TAG_KIND = "tag"  # the kind of the tag registries, across projects


def prefix(project_id: ProjectId) -> str:
    """The prefix every key of one project starts with: ``proj:{<project>}:``."""
    return key_prefix(KIND, str(parse_id(project_id)))


def data(project_id: ProjectId) -> StorageKey:
    """The project's main cached document."""
    return key(KIND, str(parse_id(project_id)), "data")


def entry(project_id: ProjectId, name: str) -> StorageKey:
    """A named entry of the project-scoped key/value view."""
    return key(KIND, str(parse_id(project_id)), "kv", validate_name(name, "entry name"))


def item(project_id: ProjectId, name: str | None) -> StorageKey:
    """The main document (``name`` None) or the named entry ``name``."""
    return data(project_id) if name is None else entry(project_id, name)


def fills(project_id: ProjectId) -> StorageKey:
    """Hash of the fill tokens of the project's loads in flight, by entry key: every write,
    delete and invalidation of an entry removes its token, and a fill whose token is gone
    is refused."""
    return key(KIND, str(parse_id(project_id)), "fills")


def index(project_id: ProjectId) -> StorageKey:
    """Sorted set of the project's entry keys, scored by expiry time (ms)."""
    return key(KIND, str(parse_id(project_id)), "index")


def tags(project_id: ProjectId) -> StorageKey:
    """Sorted set of the tags used in the project, scored by their latest expiry."""
    return key(KIND, str(parse_id(project_id)), "tags")


def tag_index(project_id: ProjectId, tag: CacheTag) -> StorageKey:
    """Sorted set of the project's entries carrying ``tag``, scored by expiry."""
    return key(KIND, str(parse_id(project_id)), "tag", tag.name)


def tag_projects(tag: CacheTag) -> StorageKey:
    """Sorted set of the projects holding entries tagged ``tag``, scored by expiry."""
    return key(TAG_KIND, tag.name, "projects")


@dataclass(frozen=True, slots=True)
class LeaseKeys:
    """An entry's load lease: the holder's token, the waiters' count and their wake-ups."""

    lease: StorageKey
    waiters: StorageKey
    done: StorageKey


def lease(project_id: ProjectId, name: str | None) -> LeaseKeys:
    """The lease keys of the main document (``name`` None) or of the entry ``name``."""
    tag = str(parse_id(project_id))
    suffix = ("data",) if name is None else ("kv", validate_name(name, "entry name"))
    return LeaseKeys(
        key(KIND, tag, "lease", *suffix),
        key(KIND, tag, "lease-waiters", *suffix),
        key(KIND, tag, "lease-done", *suffix),
    )


EntrySlot = tuple[IdKey, str | None]  # (id_key(project_id), entry name or None)


def entry_keys(space: KeySpace) -> KeyCache[EntrySlot, str]:
    """Each entry's namespaced key, by ``(id_key(project_id), name)``, built once."""
    return KeyCache(lambda slot: space(item(id_of_key(slot[0]), slot[1])))
