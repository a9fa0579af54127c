"""The maintenance row of the failure table: an admin sweep never breaks its caller."""

from __future__ import annotations

from jeex_cache.core.resilience import Family

__all__ = ["MAINTENANCE"]

MAINTENANCE = Family("maintenance", "never break the request: nothing removed", fallback=lambda: 0)
