"""``CacheManager``: the facade that combines each capability's methods over one backend.

    async with CacheManager(Settings(redis_url="redis://localhost:6379/0")) as cache:
        await cache.cache_project_data(project_id, {"name": "My Project"})

Each base is one capability's mixin and carries its wiring (``<capability>/wiring.py``):
a new capability is its package and one line here, its mixin in the bases.

The module-level ``cache_manager`` reads its settings from the environment when
``initialize()`` is first awaited.
"""

from __future__ import annotations

from jeex_cache.observability.api import ObservabilityAPI
from jeex_cache.progress.api import ProgressAPI
from jeex_cache.project_cache.api import ProjectCacheAPI
from jeex_cache.project_cache.session_view import SessionCacheView
from jeex_cache.rate_limit.api import RateLimitAPI
from jeex_cache.sessions.api import SessionAPI
from jeex_cache.tasks.api import TaskQueueAPI

__all__ = ["CAPABILITIES", "CacheManager", "cache_manager"]


class CacheManager(
    ProjectCacheAPI,
    SessionAPI,
    RateLimitAPI,
    ProgressAPI,
    TaskQueueAPI,
    ObservabilityAPI,
):
    """Per-project application state over the in-memory backend or Redis.

    Failures of the backend never raise from cache operations: reads miss, writes return
    False, invalidations return 0 (each capability's ``failures.py``); sessions fail
    closed (no session, access denied). Bad input raises a subclass of ``InvalidInputError``
    at once. Lifecycle and settings come from
    ``ManagerBase``; each capability's methods from its mixin.
    """

    def for_session(self, session_id: str) -> SessionCacheView:
        """The project cache as ``session_id`` may use it: every project operation raises
        ``AccessDenied`` unless the session is live and lists the project (checked on every
        call, one round trip before the operation's own)."""
        return SessionCacheView(self, session_id, self)


CAPABILITIES = CacheManager.capabilities()
"""The registry, read from the bases: what ``initialize()`` builds on every backend."""

cache_manager = CacheManager()
"""The process-wide manager, configured from the environment on ``initialize()``."""
