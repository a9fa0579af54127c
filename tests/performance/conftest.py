"""The ``performance`` marker (declared in pyproject.toml): deselected unless asked for.

A run asks for the performance tests by naming a file of this folder (the specification's
``pytest tests/performance/test_cache_performance.py -v -s``) or by a ``-m`` expression of its
own (``-m performance``). Any other run, the default one included, leaves them out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.markexpr or any(_names_a_file_here(arg) for arg in config.args):
        return
    chosen = [item for item in items if item.get_closest_marker("performance") is None]
    if len(chosen) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen


def _names_a_file_here(arg: str) -> bool:
    path = Path(arg.split("::", 1)[0]).resolve()
    return path.is_file() and path.parent == HERE
