"""Counting the Python function calls of one operation: a measure of work that, unlike time,
does not depend on the machine or its load.

``sys.setprofile`` sees every Python frame entered in this thread, a coroutine's resumption
included. Counted: the library's own frames (the transport's reader included) and every
function they call directly (``dataclasses.is_dataclass``, ``UUID.__hash__``), but not the
event loop's own machinery, which changes from one Python version to the next. Several runs
are counted and the smallest kept, which drops a background task that happened to wake
during one of them.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import jeex_cache

__all__ = ["BUDGETS", "SLACK", "count_calls", "over_budget"]

PACKAGE = str(Path(jeex_cache.__file__).parent) + "/"
BUDGETS = Path(__file__).with_name("call_budgets.json")
SLACK = 0.20  # a count may grow this much over its budget before the guard fails

Site = tuple[str, int, str]  # file, first line, function name


async def count_calls(operation: Callable[[], Awaitable[object]], runs: int = 5) -> Counter[Site]:
    """The calls made while ``operation()`` is awaited: the run with the fewest of ``runs``."""
    best: Counter[Site] | None = None
    for _ in range(runs):
        calls: Counter[Site] = Counter()

        def hook(frame: FrameType, event: str, _arg: Any, calls: Counter[Site] = calls) -> None:
            if event == "call" and (_ours(frame) or (frame.f_back and _ours(frame.f_back))):
                code = frame.f_code
                calls[(code.co_filename, code.co_firstlineno, code.co_name)] += 1

        sys.setprofile(hook)
        try:
            await operation()
        finally:
            sys.setprofile(None)
        if best is None or calls.total() < best.total():
            best = calls
    assert best is not None
    return best


def _ours(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(PACKAGE)


def over_budget(name: str, calls: Counter[Site]) -> str | None:
    """Why ``calls`` breaks the budget of ``name`` (with the top call sites), or None."""
    budget = json.loads(BUDGETS.read_text())[name]
    total = calls.total()
    if total <= budget * (1 + SLACK):
        return None
    top = "\n".join(
        f"  {count:5d}  {_short(path)}:{line} {function}"
        for (path, line, function), count in calls.most_common(12)
    )
    return (
        f"{name}: {total} Python calls, over its budget of {budget} by more than "
        f"{SLACK:.0%} (at most {int(budget * (1 + SLACK))}). Find the new work among the most "
        f"called functions below; raise the budget in {BUDGETS.name} only in a commit that "
        f"says why.\n{top}"
    )


def _short(path: str) -> str:
    """``path`` from the package or library folder on, not the machine's prefix."""
    for marker in ("/site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    if "/lib/python" in path:  # the standard library: lib/python3.X/module.py
        return path.split("/lib/python", 1)[1].partition("/")[2]
    return path
