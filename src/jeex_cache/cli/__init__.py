"""The ``jeex-cache`` command. It only delegates, one module per command group:

    jeex-cache serve --host 127.0.0.1 --port 8000    # the reference service under uvicorn
    jeex-cache worker --queue emails --handlers myapp.tasks:HANDLERS   # a task worker
    jeex-cache progress watch ID                     # a progress bar until the task ends
    jeex-cache tasks stats|dead|requeue QUEUE        # queue depth and dead letters
    jeex-cache health                                # exit status 0, 1, 2
    jeex-cache warm --loader myapp.load:project IDS… # fill the project cache
    jeex-cache --version

Settings come from the environment (``REDIS_URL`` and the others); an invalid value is reported
in one line and the command exits with status 2. Errors go to stderr as one line, never a
traceback (exit statuses in ``_common``).
"""

from __future__ import annotations

import argparse
import sys

from jeex_cache import __version__
from jeex_cache.cli._common import USAGE, Examples
from jeex_cache.extras import MissingExtraError, require_extra

__all__ = ["main"]

EXAMPLES = """examples:
  jeex-cache serve --port 8000
  jeex-cache worker --queue emails --handlers myapp.tasks:HANDLERS
  jeex-cache progress watch 3f2c8e9a-...        (a task ID works too)
  jeex-cache tasks stats emails --json
  jeex-cache tasks requeue emails --all
  jeex-cache health || echo "not healthy"
  jeex-cache warm --loader myapp.cache:load_project --from-file projects.txt

Settings come from the environment: REDIS_URL selects Redis (the commands that inspect
shared state need it). Exit status: 0 ok, 1 failed (or degraded), 2 bad usage or settings
(or unhealthy), 3 unknown ID, 4 the backend did not answer.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    if argv == ["--version"]:  # answers without the extra
        print(f"jeex-cache {__version__}")
        return 0
    try:
        parser = _parser()
    except MissingExtraError as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already reported
        return exc.code if isinstance(exc.code, int) else USAGE
    if args.version:
        print(f"jeex-cache {__version__}")
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:  # no command, or a group without its subcommand
        getattr(args, "usage", parser.print_usage)(sys.stderr)
        return USAGE
    status: int = handler(args)
    return status


def _parser() -> argparse.ArgumentParser:
    require_extra("server", "the jeex-cache command")
    from jeex_cache.cli import health, progress, serve, tasks, warm

    parser = argparse.ArgumentParser(
        prog="jeex-cache",
        description="jeex-cache: per-project application state.",
        epilog=EXAMPLES,
        formatter_class=Examples,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (serve, progress, tasks, health, warm):
        group.register(commands)
    return parser
