"""An open progress stream keeps asking whether its session may still read the project.

``while_allowed`` passes a stream's events on while the session is live and lists the owning
project. It re-checks at least every ``every`` seconds (the keep-alive), whether events flow
or not, and at once when this process revokes the session, rotates it, ends its user's
sessions or removes a project from it (``manager.session_changes``). The check comes before
the next event is passed on. When access has ended, the stream's last item is ``AccessEnded``
(its reason: ``invalid_session``, ``project_not_granted``, or ``unavailable`` when the session
store cannot answer: access fails closed), and the events are closed.

``progress_stream(..., session=session)`` uses it; call it yourself to guard another stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from jeex_cache import ProgressEvent, UserSession
from jeex_cache.core.errors import AccessDenied
from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.manager import CacheManager

__all__ = ["AccessEnded", "while_allowed"]

_DETAILS = {
    AccessDenied.INVALID_SESSION: "the session ended: revoked, rotated or expired",
    AccessDenied.PROJECT_NOT_GRANTED: "the session may no longer access the project",
    AccessDenied.UNAVAILABLE: "the session store is unavailable: access is denied",
}


@dataclass(frozen=True, slots=True)
class AccessEnded:
    """The reason a stream was closed before its operation ended."""

    reason: str

    @property
    def detail(self) -> str:
        """The reason in words."""
        return _DETAILS.get(self.reason, "access ended")


async def _denial(manager: CacheManager, token: str, project: CanonicalId) -> AccessEnded | None:
    try:
        session = await manager.require_session(token)
    except AccessDenied as denied:
        return AccessEnded(denied.reason)
    if not session.can_access(project):
        return AccessEnded(AccessDenied.PROJECT_NOT_GRANTED)
    return None


async def while_allowed(
    events: AsyncIterator[ProgressEvent],
    manager: CacheManager,
    token: str,
    session: UserSession,
    project: CanonicalId,
    every: float,
) -> AsyncIterator[ProgressEvent | AccessEnded]:
    """``events`` while ``session`` (named by ``token``) may read ``project``; see above."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[ProgressEvent] | None = None
    with manager.session_changes.watch(token, session.user_id) as changed:
        try:
            check_at = loop.time() + every
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                woken = asyncio.ensure_future(changed.wait())
                waiting: set[asyncio.Future[Any]] = {pending, woken}
                timeout = max(0.0, check_at - loop.time())
                await asyncio.wait(waiting, timeout=timeout, return_when="FIRST_COMPLETED")
                woken.cancel()
                if changed.is_set() or loop.time() >= check_at:
                    changed.clear()
                    ended = await _denial(manager, token, project)
                    if ended is not None:
                        yield ended
                        return
                    check_at = loop.time() + every
                if pending.done():
                    try:
                        event = pending.result()
                    except StopAsyncIteration:
                        return
                    pending = None
                    yield event
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            closing = getattr(events, "aclose", None)
            if closing is not None:
                await closing()
