"""``jeex-cache tasks stats|dead|requeue QUEUE``: a queue's depth and its dead letters, through
the manager's task calls (``get_queue_stats``, ``list_dead_tasks``, ``requeue_dead_tasks``)."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from jeex_cache.cli._common import OK, Examples, print_json, run_with_manager, shown
from jeex_cache.manager import CacheManager
from jeex_cache.tasks.model import Task

__all__ = ["register"]

EXAMPLES = """examples:
  jeex-cache tasks stats emails              # pending, running and dead counts
  jeex-cache tasks stats emails --running 10 --json
  jeex-cache tasks dead emails --limit 20    # the dead letters, oldest first
  jeex-cache tasks requeue emails t-1 t-2    # these dead tasks again, fresh attempts
  jeex-cache tasks requeue emails --all --json
"""


def register(commands: Any) -> None:
    """Add ``tasks stats``, ``tasks dead`` and ``tasks requeue`` to ``commands``."""
    group = commands.add_parser(
        "tasks", help="inspect a task queue and its dead letters", epilog=EXAMPLES,
        formatter_class=Examples,
    )  # fmt: skip
    group.set_defaults(usage=group.print_usage)
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    stats = _action(actions, "stats", "pending, running and dead counts of a queue", _stats)
    stats.add_argument(
        "--running", type=int, default=0, metavar="N", help="also list up to N running task IDs"
    )
    dead = _action(actions, "dead", "list a queue's dead tasks, oldest first", _dead)
    dead.add_argument("--limit", type=int, default=100, help="the most tasks listed (100)")
    requeue = _action(actions, "requeue", "queue dead tasks again, fresh attempts", _requeue)
    chosen = requeue.add_mutually_exclusive_group(required=True)
    chosen.add_argument("ids", nargs="*", default=[], metavar="ID", help="dead task IDs")
    chosen.add_argument("--all", action="store_true", help="every dead task of the queue")


def _action(actions: Any, name: str, summary: str, command: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(
        name, help=summary, description=summary, epilog=EXAMPLES, formatter_class=Examples
    )
    parser.add_argument("queue", metavar="QUEUE", help="the queue's name")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(
        handler=lambda args: run_with_manager(lambda manager: command(manager, args))
    )
    return parser


async def _stats(manager: CacheManager, args: argparse.Namespace) -> int:
    stats = await manager.get_queue_stats(args.queue, args.running)
    counts = {"pending": stats.pending, "running": stats.running, "dead": stats.dead}
    if args.json:
        running = {"running_ids": list(stats.running_ids)} if args.running else {}
        print_json({"queue": stats.queue, **counts, **running})
        return OK
    table = Table("queue", *counts)
    table.add_row(Text(stats.queue), *(str(n) for n in counts.values()))
    console = Console()
    console.print(table)
    for task_id in stats.running_ids:
        console.print(f"running: {shown(task_id)}", markup=False)
    return OK


async def _dead(manager: CacheManager, args: argparse.Namespace) -> int:
    tasks = await manager.list_dead_tasks(args.queue, args.limit)
    if args.json:
        print_json([_as_dict(task) for task in tasks])
        return OK
    table = Table("task ID", "name", "attempts", "died at", "error")
    for task in tasks:
        died = task.finished_at or task.updated_at
        table.add_row(
            Text(shown(task.task_id)), Text(shown(task.name)),
            f"{task.attempts}/{task.max_attempts}", died.isoformat(timespec="seconds"),
            Text(shown(task.error or "")),
        )  # fmt: skip
    console = Console()
    console.print(table)
    console.print(f"{len(tasks)} dead task(s) in {args.queue}", markup=False)
    return OK


async def _requeue(manager: CacheManager, args: argparse.Namespace) -> int:
    requeued = await manager.requeue_dead_tasks(args.queue, None if args.all else args.ids)
    if args.json:
        print_json({"queue": args.queue, "requeued": requeued})
    else:
        print(f"requeued {requeued} task(s) on {args.queue}")
    return OK


def _as_dict(task: Task) -> dict[str, Any]:
    data = dataclasses.asdict(task)
    data["status"] = task.status.value
    for name, value in data.items():
        if isinstance(value, datetime):
            data[name] = value.isoformat()
    return data
