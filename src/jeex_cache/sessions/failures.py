"""The sessions' rows of the failure table: they fail closed, and a revocation is never lost."""

from __future__ import annotations

from jeex_cache.core.resilience import Family

__all__ = ["SESSION", "SESSION_REVOKE"]

SESSION = Family("session", "deny: fail closed for security", fallback=lambda: None)
SESSION_REVOKE = Family(
    "session_revoke", "a revocation is never lost silently: the caller must retry"
)  # raises
