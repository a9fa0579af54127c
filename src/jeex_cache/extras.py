"""Optional dependencies, publicly: which extra a feature needs, and the error a missing one
gives. A module of your own that needs an extra can say so at import time:

    from jeex_cache.extras import require_extra
    require_extra("fastapi", "my_app.routes")  # MissingExtraError names the pip command
"""

from __future__ import annotations

from jeex_cache._extras import EXTRAS, MissingExtraError, require_extra

__all__ = ["EXTRAS", "MissingExtraError", "require_extra"]
