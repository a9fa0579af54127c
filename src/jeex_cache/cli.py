"""The ``jeex-cache`` command. It only delegates:

    jeex-cache serve --host 127.0.0.1 --port 8000    # the reference service under uvicorn
    jeex-cache worker --queue emails --handlers myapp.tasks:HANDLERS   # a task worker
    jeex-cache --version

Settings come from the environment (``REDIS_URL`` and the others); an invalid value is reported
in one line and the command exits with status 2.

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

from jeex_cache import __version__
from jeex_cache.config import Settings
from jeex_cache.core.errors import ConfigurationError

__all__ = ["main"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already reported
        return exc.code if isinstance(exc.code, int) else 2
    if args.version:
        print(f"jeex-cache {__version__}")
        return 0
    if args.command == "serve":
        return _serve(args.host, args.port, args.log_level)
    if args.command == "worker":
        from jeex_cache.tasks.worker_main import WorkerOptions, run_worker

        return run_worker(WorkerOptions(
            args.queue, args.handlers, args.concurrency, args.visibility_timeout,
            args.shutdown_timeout, args.burst,
        ))  # fmt: skip
    parser.print_usage(sys.stderr)
    return 2


def _serve(host: str, port: int, log_level: str) -> int:
    try:
        settings = Settings()
    except ConfigurationError as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return 2
    import uvicorn  # deferred: --version and config errors need neither uvicorn nor FastAPI

    from jeex_cache.web import create_app

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG, log_level),
        proxy_headers=False,  # else uvicorn rewrites the client from X-Forwarded-For first
        forwarded_allow_ips="",
    )
    return 0


def _log_config(base: dict[str, Any], log_level: str) -> dict[str, Any]:
    """uvicorn's logging configuration, with the ``jeex_cache`` loggers on its handler."""
    config = copy.deepcopy(base)
    level = "DEBUG" if log_level == "trace" else log_level.upper()
    config["loggers"]["jeex_cache"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jeex-cache", description="jeex-cache: per-project application state."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the reference HTTP service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (8000)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="(info)")
    worker = commands.add_parser("worker", help="run a background task worker until SIGTERM")
    worker.add_argument("--queue", required=True, help="the queue to take tasks from")
    worker.add_argument("--handlers", required=True, help="package.module:NAME, a dict of handlers")
    worker.add_argument("--concurrency", type=int, default=1, help="tasks run at once (1)")
    worker.add_argument("--visibility-timeout", type=float, default=30.0, help="seconds (30)")
    worker.add_argument("--shutdown-timeout", type=float, default=10.0, help="seconds (10)")
    worker.add_argument("--burst", action="store_true", help="exit once no task is due")
    return parser


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value!r}")
    return port


if __name__ == "__main__":
    sys.exit(main())
