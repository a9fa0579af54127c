"""The project cache's rows of the failure table: it never breaks the request.

A read that fails is a miss (the caller has the database), a write ``False`` (or
``FAILED_WRITE`` where a ``WriteResult`` is reported), an invalidation ``0``.
"""

from __future__ import annotations

from jeex_cache.core.resilience import Family
from jeex_cache.core.telemetry import show_in_spans
from jeex_cache.project_cache.model import CacheTag, WriteOutcome, WriteResult

__all__ = ["CACHE_INVALIDATE", "CACHE_LEASE", "CACHE_READ", "CACHE_WRITE", "FAILED_WRITE"]

CACHE_READ = Family(
    "cache_read", "a miss: the caller has the database", fallback=lambda: None, counts_hits=True
)
CACHE_WRITE = Family("cache_write", "never break the request", fallback=lambda: False)
CACHE_INVALIDATE = Family("cache_invalidate", "never break the request", fallback=lambda: 0)

FAILED_WRITE = WriteResult(WriteOutcome.FAILED, None)
"""What a write that reports a ``WriteResult`` returns while the backend is down."""

show_in_spans(CacheTag)  # a validated name: a span may show the tag of an invalidation

CACHE_LEASE = Family(
    "cache_lease",
    "the loader runs without the lease; its value is returned, uncached",
    fallback=lambda: None,
)
"""A loader's lease steps (``get_or_load_project_data``): without Redis nobody can share a
load, so each process loads for itself and the value goes back to the caller."""
