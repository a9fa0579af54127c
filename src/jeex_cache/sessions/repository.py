"""What a session backend does: ``UserSessionRepository``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.core.ttl import TTL
from jeex_cache.sessions.model import UserSession

__all__ = ["UserSessionRepository", "user_data_size"]


class UserSessionRepository(Protocol):
    """Session records named by ``digest`` (SHA-256 hex of the session ID), indexed per user.

    The raw session ID never reaches a repository. A session past its idle expiry or its
    absolute lifetime is absent to every method. User data travels as encoded JSON per
    top-level key, so updates of different keys, grants and activity never overwrite each
    other. Times come from the store's clock (Redis ``TIME``, the memory backend's ``Clock``).
    """

    async def create(
        self,
        digest: str,
        user_id: CanonicalId,
        data: Mapping[str, bytes],
        projects: frozenset[CanonicalId],
        idle_ttl: TTL,
        absolute_ttl: TTL,
        max_per_user: int,
    ) -> tuple[UserSession, list[str]] | None:
        """Store a new session; evict the user's oldest live sessions beyond ``max_per_user``.

        Returns the session (``session_id`` None) and the evicted digests, or None if
        ``digest`` is already taken (nothing is overwritten).
        """
        ...

    async def touch(self, digest: str, extend_to: TTL | None = None) -> UserSession | None:
        """Read the session and, in the same atomic step, record the activity and slide its
        idle expiry (to at least ``extend_to`` from now if given), never past the absolute cap.
        """
        ...

    async def touch_for_project(
        self, digest: str, project_id: CanonicalId
    ) -> tuple[CanonicalId, bool] | None:
        """Like ``touch``, but answer only the user ID and whether ``project_id`` is granted."""
        ...

    async def set_project_access(
        self, digest: str, project_id: CanonicalId, allowed: bool
    ) -> tuple[CanonicalId, bool] | None:
        """Grant or revoke one project; the user ID and whether anything changed, or None."""
        ...

    async def update_data(self, digest: str, data: Mapping[str, bytes], max_bytes: int) -> bool:
        """Set the given user-data keys; False if the session is gone.

        Raises ``PayloadTooLargeError`` (nothing written) if the user data would exceed
        ``max_bytes`` as counted by ``user_data_size``.
        """
        ...

    async def delete(self, digest: str) -> CanonicalId | None:
        """Remove the session at once; its user ID, or None if there was none."""
        ...

    async def rename(self, digest: str, new_digest: str) -> UserSession | None:
        """Move the session to ``new_digest``: the old name is dead at once; same data,
        grants, creation time and absolute cap. None if the session was gone."""
        ...

    async def list_for_user(self, user_id: CanonicalId) -> list[UserSession]:
        """The user's live sessions, oldest first, without touching them."""
        ...

    async def delete_for_user(self, user_id: CanonicalId) -> int:
        """Remove every session of the user; return how many were live."""
        ...


def user_data_size(data: Mapping[str, bytes]) -> int:
    """How user data counts against ``CACHE_SESSION_MAX_DATA_BYTES``: per key, the key's
    UTF-8 bytes plus two, plus its encoded value (what the Redis record holds)."""
    return sum(len(key.encode()) + 2 + len(value) for key, value in data.items())
