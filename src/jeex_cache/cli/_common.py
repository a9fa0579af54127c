"""What every inspection command shares: a manager from the environment, exit statuses, and
errors as one line on stderr (never a traceback)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from jeex_cache.config import Settings
from jeex_cache.core.errors import BackendError, ConfigurationError, InvalidInputError
from jeex_cache.manager import CacheManager

__all__ = [
    "BACKEND_DOWN",
    "FAILED",
    "NOT_FOUND",
    "OK",
    "USAGE",
    "CliError",
    "Examples",
    "print_json",
    "run_with_manager",
    "say",
    "shown",
]

OK, FAILED, USAGE, NOT_FOUND, BACKEND_DOWN = 0, 1, 2, 3, 4
"""Exit statuses: success; the operation failed (or health degraded); bad usage, settings or
input (or health unhealthy); an unknown ID; the backend did not answer."""


class CliError(Exception):
    """A command's failure: ``message`` goes to stderr, ``status`` is the exit status."""

    def __init__(self, message: str, status: int = FAILED) -> None:
        super().__init__(message)
        self.status = status


class Examples(argparse.RawDescriptionHelpFormatter):
    """Help that keeps the epilog's examples as written."""


# C0 and C1 controls, DEL, and the bidirectional overrides that reorder a line on screen.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """``text`` safe for a terminal: every control character (an escape sequence, a newline,
    a bidi override) as its Python escape (``\\x1b``), so that task-controlled text never
    acts on the screen or forges a line."""
    return _CONTROLS.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def say(message: str) -> None:
    """One line on stderr, prefixed with the command's name."""
    print(f"jeex-cache: {message}", file=sys.stderr)


def print_json(data: Any) -> None:
    """``data`` as one line of JSON on stdout (dates and enums as text)."""
    print(json.dumps(data, default=str, ensure_ascii=False), flush=True)


Command = Callable[[CacheManager], Awaitable[int]]


def run_with_manager(command: Command, *, shared: bool = True) -> int:
    """Run ``command`` with a manager configured from the environment; its exit status.

    ``shared``: the command reads state other processes wrote, which the in-process backend
    (no ``REDIS_URL``) cannot hold, so it is refused there.
    """
    try:
        settings = Settings()
    except ConfigurationError as exc:
        say(str(exc))
        return USAGE
    if shared and settings.backend == "memory":
        say("set REDIS_URL: the in-process backend holds no other process's state")
        return USAGE
    _quiet_logs()
    try:
        return asyncio.run(_run(settings, command))
    except CliError as exc:
        say(str(exc))
        return exc.status
    except (InvalidInputError, ConfigurationError) as exc:
        say(str(exc))
        return USAGE
    except BackendError as exc:
        say(f"the backend did not answer: {exc}")
        return BACKEND_DOWN
    except KeyboardInterrupt:
        return 130


def _quiet_logs() -> None:
    """The library's own log lines on stderr from ERROR up (all with ``CACHE_DEBUG``): a
    command reports a backend failure once, in its own words."""
    library = logging.getLogger("jeex_cache")
    if not any(handler.get_name() == "jeex-cache-cli" for handler in library.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name("jeex-cache-cli")
        handler.setFormatter(logging.Formatter("jeex-cache: %(levelname)s %(name)s: %(message)s"))
        library.addHandler(handler)
    library.setLevel(logging.ERROR)  # initialize() lowers it to DEBUG under CACHE_DEBUG
    library.propagate = False


async def _run(settings: Settings, command: Command) -> int:
    async with CacheManager(settings) as manager:
        return await command(manager)
