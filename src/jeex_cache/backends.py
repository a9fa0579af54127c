"""A backend is the connection behind one URL; ``SCHEMES`` says which kind each scheme opens.

``bootstrap.py`` opens the kind a URL names and builds every capability's repository on it.
A new URL scheme is one line here (and its scheme in ``config.BACKEND_SCHEMES``, which a test
keeps equal to this table's keys).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jeex_cache.config import Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.clock import Clock

if TYPE_CHECKING:
    from jeex_cache.core.executor import RedisExecutor
    from jeex_cache.core.memory_budget import MemoryBudget

__all__ = ["SCHEMES", "Backend", "backend_kind"]


@dataclass(slots=True)
class Backend:
    """One storage connection: what repositories are built on, and how to release it.

    ``executor`` is None on the in-process backend, which has a ``budget`` instead.
    ``repositories`` holds what ``bootstrap.py`` built on it, by capability name (for tools
    and tests).
    """

    name: str
    clock: Clock
    settings: Settings
    executor: RedisExecutor | None = None
    breaker: CircuitBreaker | None = None
    pool: Callable[[], dict[str, int]] | None = None  # connections in use and the maximum
    usage: Callable[[], dict[str, int]] | None = None  # the embedded store's budget report
    budget: MemoryBudget | None = None  # the embedded store's one byte bound, for every kind
    repositories: dict[str, object] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` on ``close()``, before the closers registered earlier."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Release what was registered, the latest first (the connection itself last)."""
        while self._closers:
            await self._closers.pop()()

    def status(self) -> dict[str, Any]:
        """What is known without a round trip: the circuit breaker, pool use and, on the
        embedded backend, its memory (bytes used and bound, entries, evictions, refusals)."""
        status: dict[str, Any] = {}
        breaker = self.breaker
        if breaker is not None:
            status["circuit"] = {
                "state": breaker.state.value,
                "consecutive_failures": breaker.consecutive_failures,
                "opened": breaker.transitions["open"],
            }
            if breaker.nodes:  # a cluster: each master's own
                status["circuit"]["nodes"] = {
                    node: {"state": own.state.value, "opened": own.transitions["open"]}
                    for node, own in sorted(breaker.nodes.items())
                }
        cluster = self.executor.cluster if self.executor is not None else None
        if cluster is not None:
            status["cluster"] = {
                "refreshes": cluster.refreshes,
                "map_changes": cluster.map_changes,
                "redirects": dict(cluster.redirects),
            }
        if breaker is not None:  # the last outages and slot moves, oldest first
            incidents = [*breaker.incidents, *(cluster.incidents if cluster is not None else ())]
            status["incidents"] = sorted(incidents, key=lambda incident: incident["at"])[-20:]
        if self.pool is not None:
            status["pool"] = self.pool()
        if self.usage is not None:
            status["memory"] = self.usage()
        return status


SCHEMES: Mapping[str, str] = {  # scheme -> the kind of backend it opens
    "memory": "memory",
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
    "redis+sentinel": "redis",
    "rediss+sentinel": "redis",
    "redis+cluster": "redis",
    "rediss+cluster": "redis",
}


def backend_kind(settings: Settings) -> str:
    """``memory`` when ``REDIS_URL`` is unset or ``memory://``; else ``redis`` (standalone,
    Sentinel and Cluster alike: the transport tells them apart)."""
    return "memory" if settings.redis_url is None else SCHEMES[urlsplit(settings.redis_url).scheme]
