"""``jeex-cache health``: the backend's health report, and an exit status for scripts:
0 healthy, 1 degraded, 2 unhealthy (see ``observability.health`` for the rules)."""

from __future__ import annotations

import argparse
from typing import Any

from jeex_cache.cli._common import Examples, print_json, run_with_manager
from jeex_cache.manager import CacheManager

__all__ = ["STATUSES", "register"]

STATUSES = {"healthy": 0, "degraded": 1, "unhealthy": 2}

EXAMPLES = """examples:
  jeex-cache health                       # one line: status, backend, ping, memory
  jeex-cache health --json                # the whole report
  until jeex-cache health --quiet; do sleep 1; done   # wait for Redis
"""


def register(commands: Any) -> None:
    """Add ``health`` to the ``commands`` sub-parsers."""
    health = commands.add_parser(
        "health", help="check the backend: exit 0 healthy, 1 degraded, 2 unhealthy",
        epilog=EXAMPLES, formatter_class=Examples,
    )  # fmt: skip
    output = health.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the whole report as JSON")
    output.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    health.set_defaults(
        handler=lambda args: run_with_manager(lambda m: check(m, args), shared=False)
    )


async def check(manager: CacheManager, args: argparse.Namespace) -> int:
    """Print the health report; its status as the exit status."""
    report = await manager.health_check()
    status = str(report.get("status", "unhealthy"))
    if args.json:
        print_json(report)
    elif not args.quiet:
        print(_line(status, report))
    return STATUSES.get(status, 2)


def _line(status: str, report: dict[str, Any]) -> str:
    parts = [status, f"backend={report.get('backend')}"]
    if "latency_ms" in report:
        parts.append(f"ping={report['latency_ms']}ms")
    memory = report.get("memory")
    if memory:
        parts.append(f"memory={memory['usage_percentage']}%")
    circuit = report.get("circuit", {}).get("state")
    if circuit:
        parts.append(f"circuit={circuit}")
    if "error" in report:
        parts.append(f"error={report['error']}")
    return " ".join(parts)
