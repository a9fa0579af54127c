"""The in-process store's tenant pacing (see ``_task_lib.lua``'s ``pace_check``): a generic
cell rate per group, pauses, and the groups held out of the ring until their time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from jeex_cache.tasks.model import Pace

__all__ = ["Pacer"]

DEFAULT = "*"
"""The group whose pace every group without one of its own follows."""


@dataclass(slots=True)
class Pacer:
    """One queue's paces, paced times, pauses and paced-out groups (ms on the store clock)."""

    paces: dict[str, Pace] = field(default_factory=dict)
    tat: dict[str, float] = field(default_factory=dict)
    hold: dict[str, int] = field(default_factory=dict)
    paced: dict[str, int] = field(default_factory=dict)  # group -> ms it may go again

    def check(self, group: str, cost: int, now: int) -> int:
        """The ms at which ``group`` may start a task of ``cost``, or 0 if it may now (then
        it is charged)."""
        hold = self.hold.get(group, 0)
        if hold > now:
            return hold
        pace = self.paces.get(group) or self.paces.get(DEFAULT)
        if pace is None:
            return 0
        interval = pace.interval_ms
        tat = max(self.tat.get(group, 0.0), float(now))
        allowed = tat - interval * max(pace.burst - cost, 0)
        if allowed > now:
            return math.ceil(allowed)
        self.tat[group] = tat + interval * cost
        return 0

    def pause(self, group: str, until: int) -> int:
        """Hold ``group`` until ms ``until`` (or its longer pause); the time it is held to."""
        until = max(until, self.hold.get(group, 0))
        self.hold[group] = self.paced[group] = until
        return until

    def due(self, now: int) -> list[str]:
        """The paced groups whose time came (they leave the paced set)."""
        ready = [group for group, at in self.paced.items() if at <= now]
        for group in ready:
            del self.paced[group]
        return ready

    def until(self, group: str) -> int:
        """The ms until which ``group``'s pacing state matters (its pause, its paced-out
        time, its theoretical arrival time); past it the group paces as one never seen."""
        return max(
            self.hold.get(group, 0), self.paced.get(group, 0), math.ceil(self.tat.get(group, 0))
        )

    def forget(self, group: str) -> None:
        """Drop ``group``'s pacing state (its pace setting, from ``set_pace``, stays)."""
        self.tat.pop(group, None)
        self.hold.pop(group, None)
        self.paced.pop(group, None)

    def next_at(self) -> int | None:
        """When the first paced group may go again."""
        return min(self.paced.values(), default=None)
