"""The embedded backend's one byte bound, shared by every in-process repository.

One ``MemoryBudget`` is made per embedded backend (``CACHE_MEMORY_MAX_BYTES``) and handed to
each memory repository, which charges what it holds under its kind (``cache``, ``sessions``,
``rate_limit``, ``progress``, ``tasks``) and releases it when the state goes. The byte
figures are estimates of real memory, measured with tracemalloc (see each repository's
constants), so the bound holds for the process, not only for payloads.

When a charge would pass the bound, room is made in this order:

1. expired state of the other kinds is dropped (each kind drops its own before it writes);
2. cache entries are evicted, least recently used first (counted in ``evictions``), if
   evicting them can make enough room;
3. else the write is refused with ``MemoryLimitError`` (counted in ``refusals``), and
   nothing is evicted. Sessions, tasks, progress records and rate-limit logs are never
   evicted.
"""

from __future__ import annotations

from collections.abc import Callable

from jeex_cache.core.errors import MemoryLimitError

__all__ = ["DEFAULT_MAX_BYTES", "KINDS", "MemoryBudget", "held_bytes"]

DEFAULT_MAX_BYTES = 256 * 1_048_576
KINDS = ("cache", "sessions", "rate_limit", "progress", "tasks")


class MemoryBudget:
    """Bytes held by kind against ``max_bytes``; ``charge`` makes room or refuses."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.evictions = 0
        """Cache entries evicted to make room (expired state dropped is not counted)."""
        self.refusals = 0
        """Writes refused with ``MemoryLimitError``: the bound was reached, nothing evictable."""
        self.entries: Callable[[], int] = lambda: 0  # cache entries held, for the report
        self._reclaimers: list[tuple[str, Callable[[], object]]] = []
        self._evictor: Callable[[int], int] | None = None

    def on_reclaim(self, kind: str, reclaim: Callable[[], object]) -> None:
        """``reclaim()`` drops ``kind``'s expired state when another kind needs room."""
        self._reclaimers.append((kind, reclaim))

    def on_evict(self, evict: Callable[[int], int], entries: Callable[[], int]) -> None:
        """``evict(nbytes)`` frees at least ``nbytes`` if it can and returns how many entries
        it evicted; ``entries()`` is how many it holds (the cache registers both)."""
        self._evictor, self.entries = evict, entries

    def fits(self, size: int) -> bool:
        """Whether ``size`` more bytes fit without making room."""
        return self.used + size <= self.max_bytes

    def charge(self, kind: str, size: int) -> None:
        """Account ``size`` more bytes of ``kind``, making room first if the bound needs it.

        Raises ``MemoryLimitError`` (counted) when no room can be made; nothing is charged.
        """
        if not self.fits(size):
            self._make_room(kind, size)
            if not self.fits(size):
                self.refusals += 1
                raise MemoryLimitError(
                    f"the embedded backend holds {self.used} of its {self.max_bytes} bytes "
                    f"and a write of {kind} needs {size} more: raise "
                    "JEEX_CACHE_MEMORY_MAX_BYTES, or let state expire"
                )
        self.force(kind, size)

    def force(self, kind: str, size: int) -> None:
        """Account ``size`` bytes of ``kind`` without the bound (state that must be kept)."""
        self.used += size
        self.by_kind[kind] += size

    def resize(self, kind: str, held: int, size: int) -> None:
        """State of ``kind`` charged at ``held`` bytes now costs ``size``: charge the growth
        (which may be refused), or release the difference."""
        if size > held:
            self.charge(kind, size - held)
        else:
            self.release(kind, held - size)

    def release(self, kind: str, size: int) -> None:
        """``size`` bytes of ``kind`` were freed."""
        self.used -= size
        self.by_kind[kind] -= size

    def _make_room(self, kind: str, size: int) -> None:
        for owner, reclaim in self._reclaimers:
            if owner != kind:  # the writer dropped its own expired state already
                reclaim()
                if self.fits(size):
                    return
        needed = self.used + size - self.max_bytes
        if self._evictor is not None and needed <= self.by_kind["cache"]:  # else evict none
            self.evictions += self._evictor(needed)

    def usage(self) -> dict[str, int]:
        """``used`` and ``max`` bytes, cache ``entries``, ``evictions``, ``refusals``, and
        the bytes of each kind (``cache_bytes``, ``sessions_bytes``...)."""
        report = {
            "used": self.used,
            "max": self.max_bytes,
            "entries": self.entries(),
            "evictions": self.evictions,
            "refusals": self.refusals,
        }
        report.update({f"{kind}_bytes": held for kind, held in self.by_kind.items()})
        return report


def held_bytes(payload: bytes) -> bytes:
    """A copy of ``payload`` of exactly its length, to keep: an ``orjson.dumps`` result holds
    about 4 KiB whatever its length (tracemalloc shows it; ``sys.getsizeof`` does not)."""
    return bytes(memoryview(payload))
