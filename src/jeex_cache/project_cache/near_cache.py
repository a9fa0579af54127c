"""``NearCache``: the in-process L1 in front of Redis, bounded by bytes, invalidated by Redis.

Entries are encoded payloads keyed by their Redis key. A hit hands its caller a value of its
own: a flat document (one dict or list of scalars) is kept decoded and handed out as a
shallow copy (its items cannot be changed in place), any other is decoded afresh
(``orjson.loads`` is the cheapest deep copy: cheaper than ``copy.deepcopy``, ``marshal`` or
``pickle`` round trips). With ``shared_values`` every entry is kept decoded and every hit
hands out that one object, which callers promise not to mutate
(``JEEX_CACHE_NEAR_CACHE_SHARED_VALUES``; docs/project-cache.md). Four rules keep it correct:

- **An invalidation wins over a read in flight.** A read takes a ``Ticket`` before it asks
  Redis; an invalidation of that key (or of everything) moves the ticket's generation, and
  ``store`` keeps the reply only if nothing moved since the ticket was taken.
- **No tracking, no serving.** ``suspend`` (the tracking connection was lost) empties the L1
  and stops both serving and storing; ``resume`` (tracking is back) empties it again, since
  invalidations sent while it was away are lost, and only then serves again.
- **Never older than what this process wrote.** Local writes call ``invalidate`` before and
  after they reach Redis, so no read that raced the write can store what it replaced.
- **Bounded.** LRU eviction by bytes (payload, key and a fixed overhead); an entry expires at
  the absolute time its Redis TTL gave when its read *started*, so it never outlives Redis.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jeex_cache.core.codec import decode
from jeex_cache.core.resilience import NOT_HELD

__all__ = [
    "DECODED_BYTES_PER_BYTE",
    "DISABLED",
    "ENTRY_OVERHEAD",
    "NearCache",
    "NearCacheStats",
    "Ticket",
]

ENTRY_OVERHEAD = 160  # bytes an entry costs beyond its payload and key (objects, links)
# What a value kept decoded costs, per byte of its JSON: about 4 (a flat dict of scalars) to
# 5.7 (nested dicts and lists, floats), measured with tracemalloc on the benchmark documents.
DECODED_BYTES_PER_BYTE = 6


_FLAT_COPIES: dict[bytes, Callable[[Any], Any]] = {b"{": dict.copy, b"[": list.copy}


@dataclass(slots=True)
class _Entry:
    payload: bytes
    expires: float  # monotonic seconds
    tags: str  # '|a|b|' as stored in Redis ('' for none)
    size: int
    value: Any  # the payload decoded once (shared values, a flat document), else NOT_HELD
    copy: Callable[[Any], Any] | None  # what a hit hands out of ``value``; None: itself


class _Flight:
    """The reads of one key in flight, and the key's generation while they are."""

    __slots__ = ("generation", "readers")

    def __init__(self) -> None:
        self.readers = 0
        self.generation = 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """What a read saw when it started: its key, the L1's epoch and the key's generation."""

    key: str
    epoch: int
    generation: int
    started: float
    flight: _Flight


@dataclass(frozen=True, slots=True)
class NearCacheStats:
    """Counters and gauges of one near cache (``CacheManager.near_cache_stats()``)."""

    enabled: bool
    serving: bool
    hits: int
    misses: int
    invalidations: int
    flushes: int
    evictions: int
    entries: int
    bytes: int
    max_bytes: int

    def as_dict(self) -> dict[str, int | bool]:
        """The stats as a plain dict (for metrics)."""
        return {name: getattr(self, name) for name in self.__slots__}


DISABLED = NearCacheStats(False, False, 0, 0, 0, 0, 0, 0, 0, 0)


class NearCache:
    """An LRU of encoded payloads, bounded by ``max_bytes``; see the module docstring."""

    def __init__(
        self,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        shared_values: bool = False,
    ) -> None:
        self.max_bytes = max_bytes
        self.shared_values = shared_values
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._flights: dict[str, _Flight] = {}
        self._epoch = 0
        self.serving = False  # until tracking is established
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.invalidations = 0
        self.flushes = 0
        self.evictions = 0

    # -- reads -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """The payload of a live entry (made most recent), or None; counts a hit or a miss."""
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > self._clock():
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.payload
            self._drop(key)
        self.misses += 1
        return None

    def peek(self, key: str) -> Any:
        """The value a hit hands its caller (decoded afresh, or the shared one), counted and
        made most recent; ``NOT_HELD`` for a miss or an expired entry, left to ``get`` (which
        the read falls back to) to count and drop."""
        entry = self._entries.get(key)
        if entry is None or entry.expires <= self._clock():
            return NOT_HELD
        self._entries.move_to_end(key)
        self.hits += 1
        value = entry.value
        if value is NOT_HELD:
            return decode(entry.payload)
        copy = entry.copy
        return value if copy is None else copy(value)

    def begin(self, key: str) -> Ticket:
        """Start a read of ``key`` from Redis; pair with ``end`` (and ``store`` on success)."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = _Flight()
        flight.readers += 1
        epoch = self._epoch if self.serving else -1
        return Ticket(key, epoch, flight.generation, self._clock(), flight)

    def end(self, ticket: Ticket) -> None:
        """The read of ``ticket`` is over (stored or not)."""
        flight = ticket.flight
        flight.readers -= 1
        if flight.readers == 0 and self._flights.get(ticket.key) is flight:
            del self._flights[ticket.key]

    def store(self, ticket: Ticket, payload: bytes, ttl_ms: int, tags: str = "") -> bool:
        """Keep what Redis answered, unless an invalidation or a flush came since ``begin``.

        ``ttl_ms`` is the entry's Redis TTL as the read saw it (< 0: no expiry, not kept).
        """
        if (
            ticket.epoch != self._epoch
            or not self.serving
            or ticket.generation != ticket.flight.generation
            or ttl_ms <= 0
        ):
            return False
        key = ticket.key
        size = len(payload) + len(key) + len(tags) + ENTRY_OVERHEAD
        value, copy = self._decoded(payload)
        if copy is not NOT_HELD:
            size += len(payload) * DECODED_BYTES_PER_BYTE
        if size > self.max_bytes:
            return False
        if key in self._entries:
            self._drop(key)
        expires = ticket.started + ttl_ms / 1000
        self._entries[key] = _Entry(payload, expires, tags, size, value, copy)
        self.bytes += size
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.evictions += 1
        return True

    def _decoded(self, payload: bytes) -> tuple[Any, Any]:
        """``payload`` as an entry keeps it: its value decoded and how a hit hands it out
        (None: the value itself, with shared values; ``dict.copy`` or ``list.copy``: a flat
        document), or ``NOT_HELD`` twice: not kept decoded, each hit decodes it. Flat: the
        outer brace or bracket is the JSON's only one (a string holding one only costs the
        decode). A payload that is not JSON is not kept decoded: each hit raises, as before."""
        if self.shared_values:
            copy = None
        elif payload.count(b"{") + payload.count(b"[") == 1:
            copy = _FLAT_COPIES.get(payload[:1], NOT_HELD)
        else:
            copy = NOT_HELD
        if copy is NOT_HELD:
            return NOT_HELD, NOT_HELD
        try:
            return decode(payload), copy
        except ValueError:  # orjson.JSONDecodeError
            return NOT_HELD, NOT_HELD

    # -- invalidation ----------------------------------------------------------------------

    def invalidate(self, key: str) -> None:
        """Forget ``key`` and fail the reads of it in flight (a write or an invalidation)."""
        if key in self._entries:
            self._drop(key)
        flight = self._flights.get(key)
        if flight is not None:
            flight.generation += 1

    def received(self, keys: list[str] | None) -> None:
        """Redis invalidated ``keys`` (None: everything, e.g. FLUSHALL)."""
        if keys is None:
            self.invalidations += 1
            self.flush()
            return
        self.invalidations += len(keys)
        for key in keys:
            self.invalidate(key)

    def invalidate_where(self, prefix: str | tuple[str, ...], tag: str | None = None) -> None:
        """Forget every entry under ``prefix`` (or any of several; with ``|tag|`` among its
        tags, if given), and fail every read in flight: a bulk write of keys unknown here."""
        marker = None if tag is None else f"|{tag}|"
        doomed = [
            key
            for key, entry in self._entries.items()
            if key.startswith(prefix) and (marker is None or marker in entry.tags)
        ]
        for key in doomed:
            self._drop(key)
        self._epoch += 1

    def flush(self) -> None:
        """Empty the L1 and fail every read in flight."""
        self._entries.clear()
        self.bytes = 0
        self._epoch += 1
        self.flushes += 1

    def suspend(self) -> None:
        """Tracking is lost: flush, and neither serve nor store until ``resume``."""
        self.serving = False
        self.flush()

    def resume(self) -> None:
        """Tracking is back: flush what may have missed an invalidation, then serve again."""
        self.flush()
        self.serving = True

    def stats(self) -> NearCacheStats:
        """Counters and gauges now."""
        return NearCacheStats(
            True,
            self.serving,
            self.hits,
            self.misses,
            self.invalidations,
            self.flushes,
            self.evictions,
            len(self._entries),
            self.bytes,
            self.max_bytes,
        )

    def _drop(self, key: str) -> None:
        self.bytes -= self._entries.pop(key).size
