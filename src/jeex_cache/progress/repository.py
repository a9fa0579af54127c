"""What a progress backend does: ``ProgressRepository``."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.ttl import TTL
from jeex_cache.progress.model import Progress, ProgressEvent, ProgressResult
from jeex_cache.progress.rules import Change
from jeex_cache.progress.stream import Subscription

__all__ = ["ProgressRepository"]


class ProgressRepository(Protocol):
    """Progress records and their capped, append-only event logs.

    Every accepted start or change writes the record, appends one event and pushes it to
    the open subscriptions, atomically; record and log expire ``ttl`` after the last write.
    The rules are ``jeex_cache.progress.rules.decide``. Identifiers arrive validated.
    """

    async def start(
        self,
        correlation_id: str,
        total_steps: int,
        message: str,
        ttl: TTL,
        restart: bool,
        project_id: CanonicalId | None,
    ) -> ProgressResult:
        """Begin tracking at step 0 (EXISTS if tracked, unless ``restart``: a fresh log).

        The owner is ``project_id``; when None, the one already recorded (by a restarted
        record or by ``assign``) is kept.
        """
        ...

    async def assign(self, correlation_id: str, project_id: CanonicalId, ttl: TTL) -> bool:
        """Record the owner of an operation that has none yet, started or not (False if it
        has one). An owner recorded before the start lives ``ttl``, and the start keeps it."""
        ...

    async def apply(self, correlation_id: str, change: Change, ttl: TTL) -> ProgressResult:
        """Apply ``change`` if ``decide`` allows it; otherwise return the refusal."""
        ...

    async def get(self, correlation_id: str) -> Progress | None:
        """The current state, or None if unknown or expired."""
        ...

    async def read(
        self, correlation_id: str, after: str | None, limit: int
    ) -> tuple[Progress | None, list[ProgressEvent]]:
        """The state and up to ``limit`` events after ``after`` (all kept if None), at once."""
        ...

    def subscribe(self, correlation_id: str) -> AbstractAsyncContextManager[Subscription]:
        """Live events from the moment the context is entered until it is left."""
        ...
