"""``jeex-cache progress watch ID``: a terminal progress bar that follows an operation's events
(the stream the SSE endpoint serves) and ends with it: status 0 when it completes, 1 when it
fails (the error on stderr), 3 when the ID is unknown or expires meanwhile."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn

from jeex_cache.cli._common import (
    BACKEND_DOWN,
    FAILED,
    NOT_FOUND,
    OK,
    CliError,
    Examples,
    print_json,
    run_with_manager,
    say,
    shown,
)
from jeex_cache.manager import CacheManager
from jeex_cache.progress.model import EventKind, ProgressEvent

__all__ = ["register", "watch"]

EXAMPLES = """examples:
  jeex-cache progress watch 7d0c5d2e-4b8f-4f55-9a51-1c1f2b7e0a11
  jeex-cache progress watch t-2f9d0c1b --json     # one JSON event a line, for scripts
"""


def register(commands: Any) -> None:
    """Add ``progress watch`` to the ``commands`` sub-parsers."""
    group = commands.add_parser(
        "progress", help="follow a tracked operation", epilog=EXAMPLES, formatter_class=Examples
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    group.set_defaults(usage=group.print_usage)
    watch_ = actions.add_parser(
        "watch", help="show a progress bar until the operation completes or fails",
        epilog=EXAMPLES, formatter_class=Examples,
    )  # fmt: skip
    watch_.add_argument("id", metavar="ID", help="the correlation ID (or task ID)")
    watch_.add_argument("--json", action="store_true", help="print each event as a JSON line")
    watch_.add_argument(
        "--check-every", type=_seconds, default=5.0, help="seconds between re-reads when idle (5)"
    )
    watch_.set_defaults(handler=lambda args: run_with_manager(lambda m: watch(m, args)))


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {value!r}")
    return seconds


async def watch(manager: CacheManager, args: argparse.Namespace) -> int:
    """Follow ``args.id`` to its end; the exit status."""
    state = await manager.read_progress(args.id)
    if state.failed:
        raise CliError("the backend did not answer", BACKEND_DOWN)
    if state.value is None:
        raise CliError(
            f"no progress is tracked under {shown(args.id)!r} (unknown or expired)", NOT_FOUND
        )
    last: ProgressEvent | None = None
    with _Display(args.json, state.value) as display:
        async for event in manager.progress_events(args.id, check_every=args.check_every):
            display.show(event)
            last = event
    if last is None or not last.terminal:
        if manager.degraded:
            raise CliError("lost the backend while watching", BACKEND_DOWN)
        raise CliError(f"{shown(args.id)!r} expired before it finished", NOT_FOUND)
    if last.kind is EventKind.FAILED:
        say(f"{shown(args.id)} failed: {shown(last.error or '')}")
        return FAILED
    return OK


class _Display:
    """A rich progress bar with a log line per step, or JSON lines."""

    def __init__(self, as_json: bool, state: dict[str, Any]) -> None:
        self._json = as_json
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            MofNCompleteColumn(), TextColumn("{task.fields[message]}", markup=False),
            console=Console(highlight=False), disable=as_json,
        )  # fmt: skip
        self._task = self._bar.add_task(
            "running", total=state["total_steps"], completed=state["current_step"],
            message=shown(state["message"]),
        )  # fmt: skip

    def __enter__(self) -> _Display:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def show(self, event: ProgressEvent) -> None:
        """Move the bar to ``event`` and log it."""
        if self._json:
            print_json(event.as_dict())
            return
        self._bar.update(
            self._task, total=event.total_steps, completed=event.current_step,
            message=shown(event.message), description=event.status.value,
        )  # fmt: skip
        time = event.timestamp.astimezone().strftime("%H:%M:%S")
        text = event.error if event.kind is EventKind.FAILED else event.message
        self._bar.console.print(
            f"{time} {event.kind.value:<9} {event.current_step}/{event.total_steps} "
            f"{event.percentage:5.1f}%  {shown(text or '')}",
            markup=False,
        )
