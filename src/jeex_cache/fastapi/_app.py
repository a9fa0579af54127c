"""Where the integration keeps the app's manager (``install`` puts it there)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from jeex_cache.config import Settings
from jeex_cache.core.errors import ConfigurationError
from jeex_cache.manager import CacheManager

__all__ = ["installed_settings", "manager_of", "remember"]

_installed: list[CacheManager] = []  # the manager install() stored last


def remember(app_state: object, manager: CacheManager) -> None:
    """Store ``manager`` on the app's state, and as the process's latest."""
    app_state.jeex_manager = manager  # type: ignore[attr-defined]
    _installed[:] = [manager]


def manager_of(connection: HTTPConnection) -> CacheManager:
    """The manager given to ``install`` (or ``lifespan``) of the request's app."""
    manager = getattr(connection.app.state, "jeex_manager", None)
    if not isinstance(manager, CacheManager):
        raise ConfigurationError(
            "no CacheManager on this app: call jeex_cache.fastapi.install(app, manager) "
            "(and pass lifespan=lifespan(manager) to FastAPI)"
        )
    return manager


def installed_settings() -> Settings:
    """The settings of the manager ``install`` stored last, else the environment's."""
    return _installed[0].settings if _installed else Settings()
