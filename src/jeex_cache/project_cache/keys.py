"""The project cache's keys: one hash tag per project, ``proj:{<uuid>}:...``.

``data`` and ``kv:<name>`` are entries, ``index`` lists the entries by expiry, ``tags`` the
tags in use, ``tag:<name>`` the entries carrying one tag and ``fills`` the fill tokens of the
loads in flight (entry key -> token and tags). ``tag:{<name>}:projects`` (the tag's own slot)
lists the projects holding a tag, or a load in flight carrying it, for invalidation across
projects.
"""

from __future__ import annotations

from uuid import UUID

from jeex_cache.core.identifiers import parse_uuid, validate_name
from jeex_cache.core.keys import StorageKey, key, key_prefix
from jeex_cache.project_cache.model import CacheTag

__all__ = [
    "KIND",
    "TAG_KIND",
    "data",
    "entry",
    "fills",
    "index",
    "prefix",
    "tag_index",
    "tag_projects",
    "tags",
]

KIND = "proj"  # the kind of every key of one project
TAG_KIND = "tag"  # the kind of the tag registries, across projects


def prefix(project_id: UUID | str) -> str:
    """The prefix every key of one project starts with: ``proj:{<uuid>}:``."""
    return key_prefix(KIND, str(parse_uuid(project_id)))


def data(project_id: UUID | str) -> StorageKey:
    """The project's main cached document."""
    return key(KIND, str(parse_uuid(project_id)), "data")


def entry(project_id: UUID | str, name: str) -> StorageKey:
    """A named entry of the project-scoped key/value view."""
    return key(KIND, str(parse_uuid(project_id)), "kv", validate_name(name, "entry name"))


def fills(project_id: UUID | str) -> StorageKey:
    """Hash of the fill tokens of the project's loads in flight, by entry key: every write,
    delete and invalidation of an entry removes its token, and a fill whose token is gone
    is refused."""
    return key(KIND, str(parse_uuid(project_id)), "fills")


def index(project_id: UUID | str) -> StorageKey:
    """Sorted set of the project's entry keys, scored by expiry time (ms)."""
    return key(KIND, str(parse_uuid(project_id)), "index")


def tags(project_id: UUID | str) -> StorageKey:
    """Sorted set of the tags used in the project, scored by their latest expiry."""
    return key(KIND, str(parse_uuid(project_id)), "tags")


def tag_index(project_id: UUID | str, tag: CacheTag) -> StorageKey:
    """Sorted set of the project's entries carrying ``tag``, scored by expiry."""
    return key(KIND, str(parse_uuid(project_id)), "tag", tag.name)


def tag_projects(tag: CacheTag) -> StorageKey:
    """Sorted set of the projects holding entries tagged ``tag``, scored by expiry."""
    return key(TAG_KIND, tag.name, "projects")
