"""How sessions are wired: their repository on each backend, their service over it."""

from __future__ import annotations

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.sessions.memory import MemoryUserSessionRepository
from jeex_cache.sessions.redis import RedisUserSessionRepository
from jeex_cache.sessions.repository import UserSessionRepository
from jeex_cache.sessions.service import SessionManagementService

__all__ = ["SESSIONS"]


def _memory(backend: Backend) -> UserSessionRepository:
    return MemoryUserSessionRepository(backend.clock, backend.budget)


def _redis(backend: Backend) -> UserSessionRepository:
    assert backend.executor is not None
    return RedisUserSessionRepository(backend.executor)


def _service(
    repository: UserSessionRepository, backend: Backend, runtime: OperationRuntime
) -> SessionManagementService:
    settings = backend.settings
    return SessionManagementService(
        repository,
        idle_ttl=settings.session_idle_ttl,
        absolute_ttl=settings.session_absolute_ttl,
        max_per_user=settings.cache_max_sessions_per_user,
        max_data_bytes=settings.cache_session_max_data_bytes,
    )


SESSIONS = Capability("sessions", _memory, _redis, _service)
