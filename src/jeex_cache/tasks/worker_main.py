"""``jeex-cache worker``: load the handlers, run one ``Worker`` until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from jeex_cache.config import Settings
from jeex_cache.core.errors import ConfigurationError, InvalidInputError
from jeex_cache.manager import CacheManager
from jeex_cache.tasks.worker import Handler, Worker

__all__ = ["WorkerOptions", "load_handlers", "run_worker"]

logger = logging.getLogger("jeex_cache.worker")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """The command line's worker settings."""

    queue: str
    handlers: str
    concurrency: int = 1
    visibility_timeout: float = 30.0
    shutdown_timeout: float = 10.0
    burst: bool = False


def load_handlers(spec: str) -> dict[str, Handler]:
    """Import ``package.module:NAME`` and return that mapping of task names to handlers.

    The current directory is importable, as it is for ``python -m``.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--handlers must look like package.module:NAME, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"--handlers: cannot import {module_name!r}: {exc}") from None
    handlers = getattr(module, attribute, None)
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
        handlers = load_handlers(options.handlers)
    except ConfigurationError as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(_work(settings, options, handlers))
    except InvalidInputError as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return 2


async def _work(settings: Settings, options: WorkerOptions, handlers: dict[str, Handler]) -> int:
    async with CacheManager(settings) as manager:
        worker = Worker(
            manager,
            options.queue,
            handlers,
            concurrency=options.concurrency,
            visibility_timeout=options.visibility_timeout,
            shutdown_timeout=options.shutdown_timeout,
            burst=options.burst,
        )
        if manager.backend_name == "memory":
            logger.warning("no REDIS_URL: this worker only sees tasks queued in its own process")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        logger.info(
            "worker %s takes %s from queue %r (%s backend)",
            worker.name, ", ".join(sorted(handlers)), options.queue, manager.backend_name,
        )  # fmt: skip
        await worker.run()
        logger.info("worker %s stopped: %s", worker.name, worker.stats)
    return 0
