"""Progress keys: ``progress:{<id>}`` (the record) and ``progress:{<id>}:events`` (its
stream, also the name of its pub/sub channel), in one hash tag. The ID of a project's
progress is in the project's scope (``@<project>@<id>``), so the tag holds the project."""

from __future__ import annotations

from uuid import UUID

from jeex_cache.core.identifiers import SCOPE_LENGTH, validate_token
from jeex_cache.core.keys import StorageKey, key

__all__ = ["progress", "progress_events"]


def progress(correlation_id: UUID | str) -> StorageKey:
    """A progress record."""
    return key("progress", _correlation(correlation_id))


def progress_events(correlation_id: UUID | str) -> StorageKey:
    """The capped event log of one progress record (same hash tag as the record)."""
    return key("progress", _correlation(correlation_id), "events")


def _correlation(correlation_id: UUID | str) -> str:
    if isinstance(correlation_id, UUID):
        return str(correlation_id)
    return validate_token(correlation_id, "correlation ID", max_length=128 + SCOPE_LENGTH)
