"""``jeex-cache warm``: fill the project cache ahead of traffic with ``warm_project_cache``,
one loader call per project, with a progress bar; status 1 if any project failed."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import os
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from jeex_cache.cli._common import FAILED, OK, CliError, Examples, print_json, run_with_manager
from jeex_cache.cli._common import USAGE as _USAGE
from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.identifiers import CanonicalId
from jeex_cache.manager import CacheManager
from jeex_cache.project_cache.warm import ProjectLoader, import_loader, read_project_ids

__all__ = ["register"]

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
        loader, ids = _inputs(args)
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


def _inputs(args: argparse.Namespace) -> tuple[ProjectLoader, list[CanonicalId]]:
    """The loader (importable from the current directory too) and the project IDs of the
    arguments and of ``--from-file`` (``-``: stdin), through the library's own readers."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    given = list(args.ids)
    path = args.from_file
    try:
        if path == "-":
            given += sys.stdin.read().splitlines()
            path = None
        loader = import_loader(args.loader)
        ids = read_project_ids([line for line in given if _is_id_line(line)], path)
    except InvalidInputError as exc:
        raise CliError(str(exc), _USAGE) from None
    except OSError as exc:
        raise CliError(f"--from-file: {exc.strerror}: {path}", _USAGE) from None
    return loader, ids


def _is_id_line(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("#")


async def warm(
    manager: CacheManager, args: argparse.Namespace, loader: ProjectLoader, ids: list[CanonicalId]
) -> int:
    """Warm ``ids`` with ``loader``; print the summary; 1 if any failed."""
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
        summary = await manager.warm_project_cache(ids, counted, concurrency=args.concurrency)
        bar.update(task, completed=len(ids))  # projects already cached fresh load nothing
    report = dataclasses.asdict(summary)
    if args.json:
        print_json(report)
    else:
        print(" ".join(f"{key}={value}" for key, value in report.items()))
    return FAILED if summary.failed else OK
