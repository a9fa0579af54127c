"""``jeex-cache worker``: load a ``WorkerSettings`` (or a queue's handlers), run one ``Worker``
until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jeex_cache.config import Settings
from jeex_cache.core.errors import ConfigurationError, InvalidInputError
from jeex_cache.manager import CacheManager
from jeex_cache.tasks.worker import Handler, Worker, WorkerSettings

__all__ = ["WorkerOptions", "load_handlers", "run_worker"]

logger = logging.getLogger("jeex_cache.worker")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """The command line's worker settings: a ``WorkerSettings`` (``settings``) or a queue
    and its handlers; the other options, when given, override the settings'."""

    queue: str | None = None
    handlers: str | None = None
    concurrency: int | None = None
    visibility_timeout: float | None = None
    shutdown_timeout: float | None = None
    burst: bool = False
    settings: str | None = None

    def worker_settings(self) -> WorkerSettings:
        """The settings the worker runs with (``ConfigurationError`` if they do not load)."""
        if self.settings is not None:
            if self.queue is not None or self.handlers is not None:
                raise ConfigurationError("give a WorkerSettings or --queue/--handlers, not both")
            settings = _load(self.settings, "settings")
            if not isinstance(settings, WorkerSettings):
                raise ConfigurationError(f"{self.settings} must be a WorkerSettings")
        elif self.queue is None or self.handlers is None:
            raise ConfigurationError("give a WorkerSettings (module:NAME) or --queue, --handlers")
        else:
            settings = WorkerSettings(self.queue, load_handlers(self.handlers))
        overrides: dict[str, Any] = {
            "concurrency": self.concurrency, "visibility_timeout": self.visibility_timeout,
            "shutdown_timeout": self.shutdown_timeout, "burst": self.burst or None,
        }  # fmt: skip
        given = {key: value for key, value in overrides.items() if value is not None}
        return dataclasses.replace(settings, **given) if given else settings


def _load(spec: str, what: str) -> object:
    """Import ``package.module:NAME`` and return that attribute, or None (the current
    directory is importable, as it is for ``python -m``)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{what} must look like package.module:NAME, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"{what}: cannot import {module_name!r}: {exc}") from None
    return getattr(module, attribute, None)


def load_handlers(spec: str) -> dict[str, Handler]:
    """Import ``package.module:NAME`` and return that mapping of task names to handlers."""
    handlers = _load(spec, "--handlers")
    if not isinstance(handlers, Mapping) or not handlers:
        raise ConfigurationError(
            f"--handlers: {spec} must be a non-empty mapping of task names to async functions"
        )
    for name, handler in handlers.items():
        if not isinstance(name, str) or not callable(handler):
            raise ConfigurationError(f"--handlers: {spec}[{name!r}] is not a callable handler")
    return dict(handlers)


def run_worker(options: WorkerOptions) -> int:
    """Run a worker in this process; the exit status (2: bad configuration)."""
    try:
        settings = Settings()
        worker_settings = options.worker_settings()
    except (ConfigurationError, InvalidInputError) as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(_work(settings, worker_settings))
    except InvalidInputError as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return 2


async def _work(settings: Settings, worker_settings: WorkerSettings) -> int:
    async with CacheManager(settings) as manager:
        worker = Worker.from_settings(manager, worker_settings)
        if manager.backend_name == "memory":
            logger.warning("no REDIS_URL: this worker only sees tasks queued in its own process")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        logger.info(
            "worker %s takes %s from queue %r (%s backend)",
            worker.name, ", ".join(sorted(worker_settings.registry)), worker.queue,
            manager.backend_name,
        )  # fmt: skip
        await worker.run()
        logger.info("worker %s stopped: %s", worker.name, worker.stats)
    return 0
