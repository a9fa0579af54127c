"""The in-process backend: the embedded default when no ``REDIS_URL`` is set."""

from __future__ import annotations

from jeex_cache.backends import Backend
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock
from jeex_cache.core.memory_budget import MemoryBudget

__all__ = ["open_memory_backend"]


async def open_memory_backend(settings: Settings, clock: Clock) -> Backend:
    """A fresh, empty in-process backend on ``clock`` (``backends.SCHEMES``: ``memory``);
    each capability's ``wiring.py`` builds its repository on it, charging its state to the
    one budget of ``CACHE_MEMORY_MAX_BYTES``."""
    budget = MemoryBudget(settings.cache_memory_max_bytes)
    return Backend(name="memory", clock=clock, settings=settings, usage=budget.usage, budget=budget)
