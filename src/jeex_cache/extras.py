"""Optional dependencies: the extras and the one-line error a missing one gives.

``pip install jeex-cache`` is the library alone (the ``CacheManager``, the ``Worker``); the web
integration, the Prometheus exposition and the reference service with its command line come
with extras, and a module that needs one says which at import time. A module of your own
that needs an extra can say so the same way:

    from jeex_cache.extras import require_extra
    require_extra("fastapi", "my_app.routes")  # MissingExtraError names the pip command
"""

from __future__ import annotations

import importlib.util

from jeex_cache.core.errors import JeexCacheError

__all__ = ["EXTRAS", "MissingExtraError", "require_extra"]

# Extra -> the top-level modules it installs (pyproject.toml's optional dependencies).
EXTRAS: dict[str, tuple[str, ...]] = {
    "fastapi": ("fastapi", "sse_starlette"),
    "prometheus": ("prometheus_client",),
    "server": (
        "fastapi",
        "sse_starlette",
        "prometheus_client",
        "uvicorn",
        "rich",
        "fastapi_offline",
    ),
}


class MissingExtraError(JeexCacheError, ImportError):
    """A feature was imported whose extra is not installed; the message names the extra."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra ({missing} is not installed): "
            f"pip install 'jeex-cache[{extra}]'",
            name=missing,
        )
        self.extra = extra


def require_extra(extra: str, feature: str) -> None:
    """Raise ``MissingExtraError`` unless every module of ``extra`` can be imported."""
    for module in EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(feature, extra, module)
