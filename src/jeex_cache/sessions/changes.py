"""In-process notices of sessions that lost rights through this manager.

``revoke_user_session``, ``revoke_all_user_sessions``, ``rotate_session`` (the old ID) and
``revoke_project_access`` tell ``SessionChanges`` once they have succeeded. A long-lived
reader of a session (a Server-Sent Events stream) watches its session and user, and re-checks
its access as soon as one of them changes, instead of at its next periodic check. Only this
process's changes are seen: another process's revocation is found at that periodic check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.identifiers import UserId, id_text, parse_id
from jeex_cache.sessions.keys import session_digest

__all__ = ["SessionChanges"]


class SessionChanges:
    """Watchers of sessions and users, woken when one of them loses rights."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def watch(self, session_id: str, user_id: UserId) -> Iterator[asyncio.Event]:
        """An event set whenever the session or its user changes, for the block's length."""
        changed = asyncio.Event()
        keys = (_session_key(session_id), _user_key(user_id))
        for key in keys:
            self._watchers.setdefault(key, set()).add(changed)
        try:
            yield changed
        finally:
            for key in keys:
                watchers = self._watchers.get(key)
                if watchers is not None:
                    watchers.discard(changed)
                    if not watchers:
                        del self._watchers[key]

    def session_changed(self, session_id: str) -> None:
        """Wake the watchers of ``session_id`` (none can watch a malformed one)."""
        try:
            key = _session_key(session_id)
        except InvalidInputError:
            return
        self._wake(key)

    def user_changed(self, user_id: UserId) -> None:
        """Wake the watchers of every session of ``user_id``."""
        self._wake(_user_key(user_id))

    def _wake(self, key: str) -> None:
        for changed in self._watchers.get(key, ()):
            changed.set()


def _session_key(session_id: str) -> str:
    return "session:" + session_digest(session_id)


def _user_key(user_id: UserId) -> str:
    return f"user:{id_text(parse_id(user_id))}"
