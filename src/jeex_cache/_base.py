"""The manager's core: settings, lifecycle, and wiring the capabilities on ``initialize()``.

Each capability's public methods live in its package's ``api.py`` mixin; ``CacheManager``
in ``manager.py`` combines them. A mixin carries its capability's wiring
(``<capability>/wiring.py``) as a class attribute: ``initialize()`` builds every such
capability's repository on the backend and stores its service under that attribute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any, Self

from opentelemetry import metrics, trace

from jeex_cache.backends import Backend, Capability, open_backend
from jeex_cache.config import Settings
from jeex_cache.core.clock import Clock, SystemClock
from jeex_cache.core.errors import NotInitializedError
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.runtime import FailureTracker, OperationRuntime
from jeex_cache.observability.wiring import HEALTH

__all__ = ["ManagerBase"]

logger = logging.getLogger("jeex_cache.services")


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
        self._backend: Backend | None = None
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
        return self._require().name

    @classmethod
    def capabilities(cls) -> tuple[Capability[Any, Any], ...]:
        """The capabilities this manager's mixins carry, in base order: the registry."""
        found: dict[str, Capability[Any, Any]] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Capability):
                    found[value.name] = value
        return tuple(found.values())

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
        capabilities = self.capabilities()
        backend = await open_backend(settings, self._clock, capabilities)
        for capability in capabilities:
            capability.install(self, backend, self.runtime)
        self._backend = backend
        durability = "none"
        if HEALTH in capabilities:
            self._watcher = asyncio.create_task(
                self._watch_health(settings.cache_health_check_interval)
            )
            reached = backend.breaker is None or not backend.breaker.consecutive_failures
            durability = await HEALTH.of(self).durability() if reached else "unknown"
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
                self.last_health = await HEALTH.of(self).check()
                if self.last_health["status"] != "unhealthy":
                    self.runtime.tracker.succeeded()
            except Exception:  # the watcher must outlive any surprise
                logger.exception("background health check failed")

    async def close(self) -> None:
        """Release the backend's connections; the manager may be initialised again."""
        backend, self._backend = self._backend, None
        for capability in self.capabilities():
            vars(self).pop(capability.attribute, None)
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
        backend = self._backend
        if backend is None:
            raise NotInitializedError(
                "the cache manager is not initialised: await cache_manager.initialize() "
                "(or use 'async with CacheManager(...)') first"
            )
        return backend
