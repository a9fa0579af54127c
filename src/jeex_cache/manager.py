"""``CacheManager``: the facade that combines each capability's methods over one backend.

    async with CacheManager(Settings(redis_url="redis://localhost:6379/0")) as cache:
        await cache.cache_project_data(project_id, {"name": "My Project"})

Each base is one capability's front door (its package's ``api.py``), declaring the service
it reads. ``initialize()`` gets every service from ``bootstrap.py`` and stores each as that
typed attribute; before it (or after ``close()``) reading one raises ``NotInitializedError``.

The module-level ``cache_manager`` reads its settings from the environment when
``initialize()`` is first awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self

from opentelemetry import metrics, trace

from jeex_cache.backends import Backend
from jeex_cache.bootstrap import bootstrap
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock, SystemClock
from jeex_cache.core.errors import NotInitializedError
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.runtime import FailureTracker, OperationRuntime
from jeex_cache.observability.api import ObservabilityAPI
from jeex_cache.progress.api import ProgressAPI
from jeex_cache.project_cache.api import ProjectCacheAPI
from jeex_cache.project_cache.session_view import SessionCacheView
from jeex_cache.rate_limit.api import RateLimitAPI
from jeex_cache.sessions.api import SessionAPI
from jeex_cache.tasks.api import TaskQueueAPI
from jeex_cache.tasks.typed import TaskRegistry

__all__ = ["CacheManager", "cache_manager"]

logger = logging.getLogger("jeex_cache.services")

# The attributes ``initialize()`` sets and ``close()`` removes.
_SERVICES = (
    "_project", "_sessions", "_rate_limits", "_progress", "_tasks", "_task_setup", "_health",
    "_expiring",
)  # fmt: skip


def _not_initialized() -> NoReturn:
    raise NotInitializedError(
        "the cache manager is not initialised: await cache_manager.initialize() "
        "(or use 'async with CacheManager(...)') first"
    )


class CacheManager(
    ProjectCacheAPI,
    SessionAPI,
    RateLimitAPI,
    ProgressAPI,
    TaskQueueAPI,
    ObservabilityAPI,
):
    """Per-project application state over the in-memory backend or Redis.

    Failures of the backend never raise from cache operations: reads miss, writes return
    False, invalidations return 0 (each capability's ``failures.py``); sessions fail
    closed (no session, access denied). Bad input raises a subclass of ``InvalidInputError``
    at once. Lifecycle and settings are here; each capability's methods come from its mixin.
    """

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
        self._backend: Backend | None = None
        self.runtime = OperationRuntime()
        """Failure tracking, retry policy and metrics shared by every guarded call."""
        self.last_health: dict[str, Any] | None = None
        """The background health check's latest report (every CACHE_HEALTH_CHECK_INTERVAL)."""
        self._watcher: asyncio.Task[None] | None = None

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Reached only for a missing attribute: a service before ``initialize()``.
            if name in _SERVICES:
                _not_initialized()
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
        return self._require().name

    async def initialize(self) -> None:
        """Open the backend; idempotent. An unreachable Redis starts the manager degraded."""
        if self._backend is not None:
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
        backend, services = await bootstrap(settings, self._clock, self.runtime)
        self._project = services.project
        self._sessions = services.sessions
        self._rate_limits = services.rate_limits
        self._progress = services.progress
        self._tasks = services.tasks
        self._task_setup = services.task_setup
        self._health = services.health
        self._expiring = services.expiring
        self._backend = backend
        self._watcher = asyncio.create_task(
            self._watch_health(settings.cache_health_check_interval)
        )
        reached = backend.breaker is None or not backend.breaker.consecutive_failures
        durability = await self._health.durability() if reached else "unknown"
        logger.info(
            "cache manager initialised on the %s backend (durability: %s)",
            backend.name, durability,
        )  # fmt: skip

    async def _watch_health(self, interval: float) -> None:
        """Check health every ``interval`` seconds; keep the latest report in ``last_health``.

        With Redis down, the ping is also the circuit breaker's probe once its cool-down has
        passed, so the breaker closes again even when no request arrives.
        """
        while True:
            await asyncio.sleep(interval)
            if self._backend is None:
                return
            try:
                self.last_health = await self._health.check()
                if self.last_health["status"] != "unhealthy":
                    self.runtime.tracker.succeeded()
            except Exception:  # the watcher must outlive any surprise
                logger.exception("background health check failed")

    async def close(self) -> None:
        """Release the backend's connections; the manager may be initialised again."""
        backend, self._backend = self._backend, None
        for name in _SERVICES:
            vars(self).pop(name, None)
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if backend is not None:
            await backend.close()

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

    def _require(self) -> Backend:
        return self._backend if self._backend is not None else _not_initialized()

    def for_session(self, session_id: str) -> SessionCacheView:
        """The project cache as ``session_id`` may use it: every project operation raises
        ``AccessDenied`` unless the session is live and lists the project (checked on every
        call, one round trip before the operation's own)."""
        return SessionCacheView(self, session_id, self)


cache_manager = CacheManager()
"""The process-wide manager, configured from the environment on ``initialize()``."""
TaskRegistry.default_manager = cache_manager  # what a task registry bound to none enqueues through
