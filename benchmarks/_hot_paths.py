"""What the hot-path tools (``cpu_per_op``, ``profile_paths``) set up alike."""

from __future__ import annotations

from uuid import UUID, uuid4

from jeex_cache import CacheManager

__all__ = ["open_sessions"]


async def open_sessions(cache: CacheManager, projects: list[UUID]) -> dict[UUID, str]:
    """A live session per project (its user new, with access to it), by project: its ID."""
    sessions: dict[UUID, str] = {}
    for project in projects:
        session = await cache.create_user_session(uuid4(), {"name": "Dana"}, [project])
        assert session is not None
        assert session.session_id is not None
        sessions[project] = session.session_id
    return sessions
