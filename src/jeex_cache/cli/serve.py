"""``jeex-cache serve`` (the reference service under uvicorn) and ``jeex-cache worker``.

``serve`` runs uvicorn with its proxy headers off: the client address is the library's
trusted-proxy rule's alone (``RATE_LIMIT_TRUSTED_PROXIES``), whatever ``FORWARDED_ALLOW_IPS``
says. The ``jeex_cache`` loggers write beside uvicorn's, so the start-up lines (the backend,
a generated issuer token) are seen.
"""

from __future__ import annotations

import argparse
import copy
import sys
from typing import Any

from jeex_cache.cli._common import USAGE, Examples, say
from jeex_cache.config import Settings
from jeex_cache.core.errors import ConfigurationError

__all__ = ["LOG_LEVELS", "register"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

SERVE_EXAMPLES = """examples:
  jeex-cache serve                                   # on 127.0.0.1:8000, memory backend
  REDIS_URL=redis://localhost:6379/0 jeex-cache serve --host 0.0.0.0 --port 8080
"""
WORKER_EXAMPLES = """examples:
  jeex-cache worker myapp.tasks:settings             # a WorkerSettings: every Worker option
  jeex-cache worker myapp.tasks:settings --concurrency 8 --burst
  jeex-cache worker --queue emails --handlers myapp.tasks:HANDLERS
  jeex-cache worker --queue emails --handlers myapp.tasks:HANDLERS --concurrency 8 --burst
"""


def register(commands: Any) -> None:
    """Add ``serve`` and ``worker`` to the ``commands`` sub-parsers."""
    serve = commands.add_parser(
        "serve", help="run the reference HTTP service (uvicorn)", epilog=SERVE_EXAMPLES,
        formatter_class=Examples,
    )  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (8000)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="(info)")
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser(
        "worker", help="run a background task worker until SIGTERM", epilog=WORKER_EXAMPLES,
        formatter_class=Examples,
    )  # fmt: skip
    worker.add_argument(
        "settings", nargs="?", help="package.module:NAME, a WorkerSettings (or --queue/--handlers)"
    )
    worker.add_argument("--queue", help="the queue to take tasks from")
    worker.add_argument("--handlers", help="package.module:NAME, a dict of handlers")
    worker.add_argument("--concurrency", type=int, help="tasks run at once (1)")
    worker.add_argument("--visibility-timeout", type=float, help="seconds (30)")
    worker.add_argument("--shutdown-timeout", type=float, help="seconds (10)")
    worker.add_argument("--burst", action="store_true", help="exit once no task is due")
    worker.set_defaults(handler=_worker, worker_usage=worker.format_usage())


def _worker(args: argparse.Namespace) -> int:
    from jeex_cache.cli.worker import WorkerOptions, run_worker

    if (args.settings is None) == (args.queue is None or args.handlers is None):
        print(args.worker_usage, end="", file=sys.stderr)
        print("jeex-cache worker: error: give module:SETTINGS, or --queue and --handlers",
              file=sys.stderr)  # fmt: skip
        return USAGE
    return run_worker(WorkerOptions(
        args.queue, args.handlers, args.concurrency, args.visibility_timeout,
        args.shutdown_timeout, args.burst, args.settings,
    ))  # fmt: skip


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
    except ConfigurationError as exc:
        say(str(exc))
        return USAGE
    import uvicorn  # deferred: --version and config errors need neither uvicorn nor FastAPI

    from jeex_cache.web import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG, args.log_level),
        proxy_headers=False,  # else uvicorn rewrites the client from X-Forwarded-For first
        forwarded_allow_ips="",
    )
    return 0


LOG_FORMAT = "%(asctime)s %(levelprefix)s %(name)s: %(message)s"
"""``serve``'s log lines: when, how grave, which logger (``jeex_cache.circuit``...), what."""


def _log_config(base: dict[str, Any], log_level: str) -> dict[str, Any]:
    """uvicorn's logging configuration, with timestamps and logger names, and the
    ``jeex_cache`` loggers on its handler."""
    config = copy.deepcopy(base)
    config["formatters"]["default"]["fmt"] = LOG_FORMAT
    config["formatters"]["access"]["fmt"] = (
        '%(asctime)s %(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
    )
    level = "DEBUG" if log_level == "trace" else log_level.upper()
    config["loggers"]["jeex_cache"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value!r}")
    return port
