"""The reference service (``jeex-cache serve``): ``create_app`` builds it over a ``CacheManager``.

Needs the ``server`` extra: ``pip install 'jeex-cache[server]'``.
"""

from __future__ import annotations

from jeex_cache.extras import require_extra

require_extra("server", "the reference service (jeex_cache.web)")

from jeex_cache.web.app import create_app

__all__ = ["create_app"]
