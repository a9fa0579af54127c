"""The manager's core: settings, lifecycle, and the services ``initialize()`` wires.

Each capability's public methods live in its package's ``api.py`` mixin; ``CacheManager``
in ``manager.py`` combines them. The mixins reach the services only
through ``_require()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any, Self

from opentelemetry import metrics, trace

from jeex_cache.backends import Backend, open_backend
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock, SystemClock
from jeex_cache.core.errors import NotInitializedError
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.runtime import FailureTracker, OperationRuntime
from jeex_cache.core.ttl import TTL
from jeex_cache.observability.health import CacheHealthService
from jeex_cache.progress.service import ProgressService
from jeex_cache.project_cache.service import CacheInvalidationService, ProjectCacheService
from jeex_cache.rate_limit.service import RateLimitingService
from jeex_cache.sessions.service import SessionManagementService
from jeex_cache.tasks.service import TaskQueueService

__all__ = ["ManagerBase", "Services"]

logger = logging.getLogger("jeex_cache.services")


class Services:
    """What ``initialize()`` builds: the backend and the domain services over it."""

    def __init__(self, backend: Backend, settings: Settings, runtime: OperationRuntime) -> None:
        self.backend = backend
        self.cache = ProjectCacheService(
            backend.project_cache, settings.project_data_ttl, settings.cache_max_payload_bytes
        )
        self.invalidation = CacheInvalidationService(backend.project_cache)
        self.sessions = SessionManagementService(
            backend.sessions,
            idle_ttl=settings.session_idle_ttl,
            absolute_ttl=settings.session_absolute_ttl,
            max_per_user=settings.cache_max_sessions_per_user,
            max_data_bytes=settings.cache_session_max_data_bytes,
        )
        self.progress = ProgressService(backend.progress, settings.progress_ttl)
        self.rate_limits = RateLimitingService(
            backend.rate_limit,
            settings.rate_limit_default,
            ipv6_prefix=settings.rate_limit_ipv6_prefix,
        )
        self.tasks = TaskQueueService(
            backend.tasks,
            TTL(settings.cache_task_status_ttl * 1000),
            settings.cache_max_payload_bytes,
        )
        self.health = CacheHealthService(
            backend.health, backend.name, lambda: _health_evidence(backend, runtime)
        )


def _health_evidence(backend: Backend, runtime: OperationRuntime) -> dict[str, Any]:
    evidence = backend_status(backend)
    evidence["error_rate"] = runtime.telemetry.error_rate_since_last_asked()
    return evidence


def backend_status(backend: Backend) -> dict[str, Any]:
    """What is known without a round trip: the circuit breaker, pool use and, on the
    embedded backend, its memory (bytes used and bound, entries, evictions)."""
    status: dict[str, Any] = {}
    breaker = backend.breaker
    if breaker is not None:
        status["circuit"] = {
            "state": breaker.state.value,
            "consecutive_failures": breaker.consecutive_failures,
            "opened": breaker.transitions["open"],
        }
    if backend.pool is not None:
        status["pool"] = backend.pool()
    if backend.usage is not None:
        status["memory"] = backend.usage()
    return status


class ManagerBase:
    """Settings, lifecycle (``initialize``/``close``/``async with``) and the failure tracker."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """``tracer_provider``/``meter_provider``: OpenTelemetry SDK providers to report to
        (default: the global ones, if an SDK installed them before ``initialize()``)."""
        self._settings = settings
        self._otel = (tracer_provider, meter_provider)
        self._clock: Clock = clock or SystemClock()
        self._services: Services | None = None
        self.runtime = OperationRuntime()
        """Failure tracking, retry policy and metrics shared by every guarded call."""
        self.last_health: dict[str, Any] | None = None
        """The background health check's latest report (every CACHE_HEALTH_CHECK_INTERVAL)."""
        self._watcher: asyncio.Task[None] | None = None

    @property
    def failure_tracker(self) -> FailureTracker:
        """Backend failure counts, and whether the latest backend call failed."""
        return self.runtime.tracker

    @property
    def settings(self) -> Settings:
        """The settings in force (read from the environment on first use if none were given)."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    @property
    def clock(self) -> Clock:
        """The clock the in-memory backend and time-based rules read."""
        return self._clock

    @property
    def backend_name(self) -> str:
        """``memory`` or ``redis``."""
        return self._require().backend.name

    async def initialize(self) -> None:
        """Open the backend; idempotent. An unreachable Redis starts the manager degraded."""
        if self._services is not None:
            return
        settings = self.settings
        if settings.cache_debug:
            logging.getLogger("jeex_cache").setLevel(logging.DEBUG)
        self.runtime.configure(
            RetryPolicy(
                settings.retry_delay,
                settings.backoff_multiplier,
                settings.retry_max_delay,
                jitter=True,
                retries=settings.max_retries,
                deadline=settings.cache_request_deadline,
                at_once=True,  # a broken connection was replaced: try the next one at once
            ),
            buffer_size=settings.cache_metrics_buffer_size,
            slow_threshold_ms=settings.cache_slow_operation_ms,
            tracer_provider=self._otel[0],
            meter_provider=self._otel[1],
        )
        backend = await open_backend(settings, self._clock)
        self._services = Services(backend, settings, self.runtime)
        self._watcher = asyncio.create_task(
            self._watch_health(settings.cache_health_check_interval)
        )
        logger.info("cache manager initialised on the %s backend", backend.name)

    async def _watch_health(self, interval: float) -> None:
        """Check health every ``interval`` seconds; keep the latest report in ``last_health``.

        With Redis down, the ping is also the circuit breaker's probe once its cool-down has
        passed, so the breaker closes again even when no request arrives.
        """
        while True:
            await asyncio.sleep(interval)
            services = self._services
            if services is None:
                return
            try:
                self.last_health = await services.health.check()
                if self.last_health["status"] != "unhealthy":
                    self.runtime.tracker.succeeded()
            except Exception:  # the watcher must outlive any surprise
                logger.exception("background health check failed")

    async def close(self) -> None:
        """Release the backend's connections; the manager may be initialised again."""
        services, self._services = self._services, None
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if services is not None:
            await services.backend.close()

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _require(self) -> Services:
        services = self._services
        if services is None:
            raise NotInitializedError(
                "the cache manager is not initialised: await cache_manager.initialize() "
                "(or use 'async with CacheManager(...)') first"
            )
        return services
