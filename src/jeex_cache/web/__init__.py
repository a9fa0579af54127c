"""FastAPI integration: ``create_app`` builds the reference service over a ``CacheManager``."""

from __future__ import annotations

from jeex_cache.web.app import create_app

__all__ = ["create_app"]
