"""The in-process backend: the embedded default when no ``REDIS_URL`` is set."""

from __future__ import annotations

from jeex_cache.backends import Backend
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock

__all__ = ["open_memory_backend"]


async def open_memory_backend(settings: Settings, clock: Clock) -> Backend:
    """A fresh, empty in-process backend on ``clock`` (``backends.SCHEMES``: ``memory``);
    each capability's ``wiring.py`` builds its repository on it."""
    return Backend(name="memory", clock=clock, settings=settings)
