"""``jeex-cache warm``: fill the project cache ahead of traffic with ``warm_project_cache``,
one loader call per project, with a progress bar; status 1 if any project failed."""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from jeex_cache.cli._common import FAILED, OK, CliError, Examples, print_json, run_with_manager
from jeex_cache.cli._common import USAGE as _USAGE
from jeex_cache.manager import CacheManager

__all__ = ["load_loader", "read_project_ids", "register"]

EXAMPLES = """examples:
  jeex-cache warm --loader myapp.cache:load_project 6f1c... 9a2e...
  jeex-cache warm --loader myapp.cache:load_project --from-file projects.txt --concurrency 16
  cut -f1 export.tsv | jeex-cache warm --loader myapp.cache:load_project --from-file -

The loader is an async function of one project ID that returns the project's data.
A file holds one project ID a line; blank lines and lines starting with # are skipped.
"""


def register(commands: Any) -> None:
    """Add ``warm`` to the ``commands`` sub-parsers."""
    warm = commands.add_parser(
        "warm", help="load projects into the cache ahead of traffic", epilog=EXAMPLES,
        formatter_class=Examples,
    )  # fmt: skip
    warm.add_argument("ids", nargs="*", metavar="PROJECT_ID", help="the projects to load")
    warm.add_argument("--loader", required=True, help="package.module:function, async, one ID")
    warm.add_argument("--from-file", metavar="PATH", help="project IDs, one a line (- stdin)")
    warm.add_argument("--concurrency", type=int, default=8, help="loads at once (8)")
    warm.add_argument("--json", action="store_true", help="print the summary as JSON")
    warm.set_defaults(handler=_warm)


def _warm(args: argparse.Namespace) -> int:
    try:
        loader = load_loader(args.loader)
        ids = [*args.ids, *read_project_ids(args.from_file)]
    except CliError as exc:
        print(f"jeex-cache: {exc}", file=sys.stderr)
        return exc.status
    if not ids:
        print("jeex-cache: no project IDs: give them as arguments or --from-file", file=sys.stderr)
        return _USAGE
    if args.concurrency < 1:
        print("jeex-cache: --concurrency must be at least 1", file=sys.stderr)
        return _USAGE
    return run_with_manager(lambda manager: warm(manager, args, loader, ids))


def load_loader(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function`` (the current directory is importable)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CliError(f"--loader must look like package.module:function, got {spec!r}", _USAGE)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CliError(f"--loader: cannot import {module_name!r}: {exc}", _USAGE) from None
    loader: object = getattr(module, attribute, None)
    if not callable(loader):
        raise CliError(f"--loader: {spec} is not a function", _USAGE)
    return loader


def read_project_ids(path: str | None) -> list[str]:
    """The project IDs of a file (``-``: stdin), one a line; none without a path."""
    if path is None:
        return []
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise CliError(f"--from-file: {exc.strerror}: {path}", _USAGE) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


async def warm(
    manager: CacheManager, args: argparse.Namespace, loader: Callable[..., Any], ids: list[str]
) -> int:
    """Warm ``ids`` with ``loader``; print the summary; 1 if any failed."""
    warm_project_cache = getattr(manager, "warm_project_cache", None)
    if warm_project_cache is None:
        raise CliError("this jeex-cache has no warm_project_cache", FAILED)
    bar = Progress(
        TextColumn("warming"), BarColumn(), MofNCompleteColumn(),
        console=Console(stderr=True), disable=args.json,
    )  # fmt: skip
    task = bar.add_task("warm", total=len(ids))

    @functools.wraps(loader)
    async def counted(*call: Any, **options: Any) -> Any:
        try:
            result = loader(*call, **options)
            return await result if inspect.isawaitable(result) else result
        finally:
            bar.advance(task)

    with bar:
        summary = await warm_project_cache(ids, counted, concurrency=args.concurrency)
        bar.update(task, completed=len(ids))  # projects already cached fresh load nothing
    report = _summary(summary)
    if args.json:
        print_json(report)
    else:
        print(" ".join(f"{key}={value}" for key, value in report.items()))
    return FAILED if report.get("failed") else OK


def _summary(summary: Any) -> dict[str, Any]:
    """The summary as plain data, whatever shape it has (dataclass, named tuple, mapping)."""
    if isinstance(summary, dict):
        data = dict(summary)
    elif hasattr(summary, "_asdict"):  # a named tuple
        data = dict(summary._asdict())
    elif hasattr(summary, "__dataclass_fields__"):
        data = {name: getattr(summary, name) for name in summary.__dataclass_fields__}
    else:
        data = {"result": summary}
    for key, value in data.items():
        if isinstance(value, list | tuple | set | frozenset | dict):
            data[key] = len(value) if key in ("loaded", "failed") else list(value)
    return {key: str(value) if not isinstance(value, int | float | str | list | None) else value
            for key, value in data.items()}  # fmt: skip
