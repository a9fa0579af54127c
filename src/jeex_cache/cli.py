"""The ``jeex-cache`` command. It only delegates:

    jeex-cache serve --host 127.0.0.1 --port 8000    # the reference service under uvicorn
    jeex-cache --version

Settings come from the environment (``REDIS_URL`` and the others); an invalid value is reported
in one line and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from jeex_cache import __version__
from jeex_cache.config import Settings
from jeex_cache.errors import ConfigurationError

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

    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
    return 0


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
