"""Timed loops: sequential latency and concurrent throughput, interleaved across candidates.

Every candidate is measured in the same way: samples are taken in ``rounds`` slices, the
candidates' order rotating from round to round, with the garbage collector collected
before and disabled during each timed slice. A call returns False when it failed (a
jeex-cache fallback, or a redis-py connection error); failures are counted, not raised.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = [
    "Call",
    "Candidate",
    "Samples",
    "Throughput",
    "gc_paused",
    "measure_latency",
    "measure_throughput",
    "time_calls",
    "timed_burst",
]

Call = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One implementation of one operation; ``role`` is ``ours``, ``baseline`` or ``reference``."""

    operation: str
    implementation: str
    role: str
    call: Call = field(repr=False)

    @property
    def key(self) -> str:
        """A unique label, ``operation / implementation``."""
        return f"{self.operation} / {self.implementation}"


@dataclass(slots=True)
class Samples:
    """Per-call durations in nanoseconds, and how many calls failed."""

    durations_ns: list[int] = field(default_factory=list)
    failures: int = 0


@dataclass(slots=True)
class Throughput(Samples):
    """Calls made from concurrent callers and the wall time they took, pooled over rounds."""

    ops: int = 0
    elapsed_ns: int = 0

    @property
    def ops_per_second(self) -> float:
        """Pooled throughput."""
        return self.ops * 1e9 / self.elapsed_ns if self.elapsed_ns else 0.0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the garbage collector off for the block."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def time_calls(call: Call, count: int, into: Samples) -> None:
    """Await ``call`` ``count`` times in sequence, recording each duration in ``into``."""
    clock = time.perf_counter_ns
    durations = into.durations_ns
    for _ in range(count):
        start = clock()
        ok = await call()
        durations.append(clock() - start)
        if not ok:
            into.failures += 1


async def timed_burst(call: Call, ops: int, concurrency: int, into: Samples) -> int:
    """Make ``ops`` calls from ``concurrency`` concurrent callers; return the wall time (ns).

    Each call's latency, queueing for a pooled connection included, goes to ``into``.
    """
    clock = time.perf_counter_ns
    durations = into.durations_ns
    remaining = ops

    async def caller() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            begin = clock()
            ok = await call()
            durations.append(clock() - begin)
            if not ok:
                into.failures += 1

    start = clock()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return clock() - start


def _rotated(candidates: Sequence[Candidate], round_index: int) -> list[Candidate]:
    shift = round_index % len(candidates)
    return [*candidates[shift:], *candidates[:shift]]


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


async def measure_latency(
    candidates: Sequence[Candidate], samples: int, rounds: int, warmup: int
) -> dict[str, Samples]:
    """Per-call durations at concurrency 1, ``samples`` per candidate over ``rounds``."""
    pooled = {c.key: Samples() for c in candidates}
    for round_index, share in enumerate(_split(samples, rounds)):
        for candidate in _rotated(candidates, round_index):
            await time_calls(candidate.call, warmup, Samples())
            with gc_paused():
                await time_calls(candidate.call, share, pooled[candidate.key])
    return pooled


async def measure_throughput(
    candidates: Sequence[Candidate], ops: int, rounds: int, concurrency: int, warmup: int
) -> dict[str, Throughput]:
    """Pooled throughput of ``ops`` calls per candidate from ``concurrency`` callers."""
    pooled = {c.key: Throughput() for c in candidates}
    for round_index, share in enumerate(_split(ops, rounds)):
        for candidate in _rotated(candidates, round_index):
            await timed_burst(candidate.call, warmup, concurrency, Samples())
            result = pooled[candidate.key]
            with gc_paused():
                result.elapsed_ns += await timed_burst(candidate.call, share, concurrency, result)
            result.ops += share
    return pooled
