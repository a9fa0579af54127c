"""The progress row of the failure table: progress never breaks the operation it reports."""

from __future__ import annotations

from jeex_cache.core.resilience import Family

__all__ = ["PROGRESS"]

# Updates name their own neutral value (``UNAVAILABLE``); a read of a record is None.
PROGRESS = Family("progress", "never break the reported operation", fallback=lambda: None)
