"""Health of the in-process backend."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MemoryHealthRepository"]


class MemoryHealthRepository:
    """Health of the in-process backend: always reachable; memory is what ``usage`` reports
    (its budget's bytes against the bound, by kind; cache entries, evictions, refusals)."""

    def __init__(self, usage: Callable[[], Mapping[str, int]]) -> None:
        self._usage = usage

    async def ping(self) -> float:
        started = time.perf_counter()
        return time.perf_counter() - started

    async def memory_info(self) -> dict[str, Any]:
        return dict(self._usage())

    async def nodes(self) -> dict[str, Any] | None:
        return None  # one process, no nodes

    async def durability(self) -> str:
        return "none"  # in process: nothing outlives it
