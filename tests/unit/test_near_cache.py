"""``NearCache`` on its own: byte bound, TTL bound, and invalidations racing reads (a
hypothesis model of a server, its writes and its delayed invalidation messages)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jeex_cache.core.resilience import NOT_HELD
from jeex_cache.project_cache.near_cache import (
    DECODED_BYTES_PER_BYTE,
    ENTRY_OVERHEAD,
    NearCache,
    Ticket,
)


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def serving(max_bytes: int = 1_000_000, clock: Clock | None = None) -> NearCache:
    near = NearCache(max_bytes, clock or Clock())
    near.resume()
    return near


def fill(near: NearCache, key: str, payload: bytes, ttl_ms: int = 60_000) -> bool:
    ticket = near.begin(key)
    try:
        return near.store(ticket, payload, ttl_ms)
    finally:
        near.end(ticket)


def test_nothing_is_served_or_stored_before_tracking_starts() -> None:
    near = NearCache(1_000_000)
    assert not fill(near, "k", b"v")
    assert near.get("k") is None


def test_a_peek_counts_its_hits_and_leaves_a_miss_to_the_read_that_follows() -> None:
    clock = Clock()
    near = serving(clock=clock)
    assert fill(near, "k", b'{"v":[1.5,null]}', ttl_ms=1_000)
    assert near.peek("k") == {"v": [1.5, None]}
    assert near.peek("absent") is NOT_HELD
    assert (near.hits, near.misses) == (1, 0)
    clock.now += 2  # expired: not served, dropped and counted by ``get``
    assert near.peek("k") is NOT_HELD
    assert near.get("k") is None
    assert (near.hits, near.misses, near.stats().entries) == (1, 1, 0)


DOCUMENT = b'{"user":{"roles":["owner"]},"scores":[0.5,null]}'


def test_each_hit_gets_a_copy_of_its_own_by_default() -> None:
    near = serving()
    assert fill(near, "k", DOCUMENT)
    first = near.peek("k")
    first["user"]["roles"].append("intruder")
    assert near.peek("k") == {"user": {"roles": ["owner"]}, "scores": [0.5, None]}


FLAT = b'{"id":"u-1","score":0.5,"tz":null,"note":"no [brackets] here"}'


def test_a_flat_document_is_kept_decoded_and_each_hit_gets_a_shallow_copy() -> None:
    near = serving()
    flat = b'{"id":"u-1","score":0.5,"tz":null,"ok":true}'
    assert fill(near, "flat", flat)
    assert fill(near, "bracketed", FLAT)  # a bracket in a string: decoded on each hit
    first, second = near.peek("flat"), near.peek("flat")
    assert first == second == {"id": "u-1", "score": 0.5, "tz": None, "ok": True}
    assert first is not second
    first["id"] = "intruder"
    assert near.peek("flat")["id"] == "u-1"
    assert near.peek("bracketed") is not near.peek("bracketed")
    kept = len(flat) * (1 + DECODED_BYTES_PER_BYTE) + len("flat") + ENTRY_OVERHEAD
    assert near.stats().bytes == kept + len(FLAT) + len("bracketed") + ENTRY_OVERHEAD


def test_a_payload_that_is_not_json_is_kept_and_raises_on_each_hit_as_a_decode_would() -> None:
    for near in (serving(), NearCache(1_000_000, Clock(), shared_values=True)):
        near.resume()
        assert fill(near, "k", b"{not json")
        assert near.get("k") == b"{not json"
        with pytest.raises(orjson.JSONDecodeError):
            near.peek("k")


def test_shared_values_hand_every_hit_the_one_value_and_count_what_it_holds() -> None:
    near = NearCache(1_000_000, Clock(), shared_values=True)
    near.resume()
    assert fill(near, "k", DOCUMENT)
    first, second = near.peek("k"), near.peek("k")
    assert first is second
    assert first == {"user": {"roles": ["owner"]}, "scores": [0.5, None]}
    assert near.get("k") == DOCUMENT  # a read that needs the payload still has it
    kept = len(DOCUMENT) * (1 + DECODED_BYTES_PER_BYTE) + len("k") + ENTRY_OVERHEAD
    assert near.stats().bytes == kept
    near.invalidate("k")  # a write: the next hit is a new value, not the one handed out
    assert fill(near, "k", b'{"v":2}')
    assert near.peek("k") == {"v": 2}


def test_a_shared_value_too_large_for_the_bound_is_not_kept() -> None:
    bound = len(DOCUMENT) * 4 + len("k") + ENTRY_OVERHEAD
    copies, shared = serving(bound), NearCache(bound, Clock(), shared_values=True)
    shared.resume()
    assert fill(copies, "k", DOCUMENT)
    assert not fill(shared, "k", DOCUMENT)
    assert shared.peek("k") is NOT_HELD


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3000)), max_size=200))
def test_the_byte_bound_holds_and_evicts_the_least_recently_used(
    writes: list[tuple[int, int]],
) -> None:
    bound = 8_000
    near = serving(bound)
    for key_index, length in writes:
        key = f"key-{key_index}"
        near.get(f"key-{(key_index * 7) % 31}")  # reads move entries up the LRU
        fill(near, key, b"x" * length)
        assert near.bytes <= bound
        assert near.bytes == sum(e.size for e in near._entries.values())
        if length + len(key) + ENTRY_OVERHEAD <= bound:
            assert near.get(key) == b"x" * length  # what was just stored stays


def test_eviction_order_is_least_recently_used_first() -> None:
    size = 1000 + len("a") + ENTRY_OVERHEAD
    near = serving(3 * size)
    for key in "abc":
        fill(near, key, b"x" * 1000)
    assert near.get("a") is not None  # a is now the most recent; b the least
    fill(near, "d", b"x" * 1000)
    assert near.get("b") is None
    assert [near.get(k) is not None for k in "acd"] == [True, True, True]
    assert near.evictions == 1


def test_an_entry_never_outlives_its_redis_ttl_counted_from_the_read_start() -> None:
    clock = Clock()
    near = serving(clock=clock)
    ticket = near.begin("k")  # the read starts at 100.0 ...
    clock.now += 0.3  # ... and Redis answers later, saying 5 s remain
    assert near.store(ticket, b"v", 5_000)
    near.end(ticket)
    clock.now = 104.999
    assert near.get("k") == b"v"
    clock.now = 105.0
    assert near.get("k") is None
    assert not fill(near, "gone", b"v", ttl_ms=-1)  # no expiry (-1) or gone (-2): not kept


def test_an_invalidation_during_a_read_wins() -> None:
    near = serving()
    ticket = near.begin("k")
    near.received(["k"])
    assert not near.store(ticket, b"old", 60_000)
    near.end(ticket)
    assert near.get("k") is None
    assert near.invalidations == 1


def test_a_flush_during_a_read_wins_and_suspension_stops_serving() -> None:
    near = serving()
    fill(near, "a", b"1")
    ticket = near.begin("k")
    near.suspend()
    assert near.get("a") is None
    near.resume()
    assert not near.store(ticket, b"old", 60_000)  # began before the flush
    near.end(ticket)
    assert near.get("k") is None


def test_bulk_invalidation_by_prefix_and_tag() -> None:
    near = serving()
    for key, tags in [("p1:a", "|x|"), ("p1:b", "|y|"), ("p2:a", "|x|")]:
        ticket = near.begin(key)
        near.store(ticket, b"v", 60_000, tags)
        near.end(ticket)
    near.invalidate_where(("p1:", "p2:"), "x")
    assert [near.get(k) is not None for k in ("p1:a", "p1:b", "p2:a")] == [False, True, False]
    near.invalidate_where("p1:")
    assert near.get("p1:b") is None


# -- the race model -------------------------------------------------------------------------

KEYS = ("a", "b")


@dataclass
class Read:
    ticket: Ticket
    value: int | None = None  # the server's version when Redis ran the read


@dataclass
class Model:
    """A server (a version per key) whose invalidations reach the near cache late, in order."""

    near: NearCache = field(default_factory=serving)
    server: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KEYS, 0))
    queue: deque[tuple[str, int]] = field(default_factory=deque)  # (key, version written)
    floor: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KEYS, 0))
    reads: list[Read] = field(default_factory=list)
    up: bool = True

    def write(self, key: str, local: bool) -> None:
        if local:
            self.near.invalidate(key)
        self.server[key] += 1
        if self.up:  # while the link is down the server has nobody to tell
            self.queue.append((key, self.server[key]))
        if local:
            self.near.invalidate(key)
            self.floor[key] = self.server[key]  # never older than what we wrote

    def deliver(self) -> None:
        if self.queue and self.up:
            key, version = self.queue.popleft()
            self.near.received([key])
            self.floor[key] = max(self.floor[key], version)  # nor than what we saw invalidated

    def check(self, key: str) -> None:
        got = self.near.get(key)
        if got is not None:
            assert self.up
            assert int(got) >= self.floor[key]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("begin"), st.sampled_from(KEYS)),
        st.tuples(st.just("run"), st.integers(0, 2)),
        st.tuples(st.just("finish"), st.integers(0, 2)),
        st.tuples(st.just("write"), st.sampled_from(KEYS)),
        st.tuples(st.just("local write"), st.sampled_from(KEYS)),
        st.tuples(st.just("deliver"), st.just("")),
        st.tuples(st.just("lose"), st.just("")),
        st.tuples(st.just("recover"), st.just("")),
    ),
    max_size=60,
)


@settings(max_examples=1000)
@given(OPS)
def test_invalidations_racing_reads_never_leave_an_older_value(
    ops: list[tuple[str, object]],
) -> None:
    model = Model()
    near = model.near
    for op, arg in ops:
        if op == "begin":
            model.reads.append(Read(near.begin(str(arg))))
        elif op in ("run", "finish") and model.reads:
            read = model.reads[int(str(arg)) % len(model.reads)]
            if op == "run" and read.value is None:
                read.value = model.server[read.ticket.key]
            elif op == "finish" and read.value is not None:
                model.reads.remove(read)
                near.store(read.ticket, str(read.value).encode(), 60_000)
                near.end(read.ticket)
        elif op in ("write", "local write"):
            model.write(str(arg), local=op == "local write")
        elif op == "deliver":
            model.deliver()
        elif op == "lose" and model.up:
            model.up = False
            model.queue.clear()  # what the server sent meanwhile is lost with the link
            near.suspend()
        elif op == "recover" and not model.up:
            model.up = True
            near.resume()
            model.floor = dict(model.server)  # the server's state when tracking resumed
        for key in KEYS:  # every step is followed by reads of every key
            model.check(key)
    while model.queue:  # once every invalidation arrived, only current values remain
        model.deliver()
    for key in KEYS:
        got = near.get(key)
        assert got is None or int(got) == model.server[key]
