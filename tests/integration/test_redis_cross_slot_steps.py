"""The project cache's cross-slot steps: what an invalidation does to a write that lands
between its read of the keys and its removal of them, and that on more than one node the
tags' registries are written (and acknowledged) before the entry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis.asyncio as aioredis

from jeex_cache import CacheManager, CacheTag, Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import LuaScript, ScriptCall
from jeex_cache.core.transport import Limits, NodePool, parse_url
from jeex_cache.core.transport.router import key_slot
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.redis import RedisProjectCacheRepository


@pytest.fixture
async def writer(redis_url: str) -> AsyncIterator[CacheManager]:
    """A second manager (own connections): the concurrent writer."""
    async with CacheManager(Settings(redis_url=redis_url)) as manager:
        yield manager


def _interleave(monkeypatch: pytest.MonkeyPatch, after_read: Any, after_step: Any) -> list[str]:
    """Run ``after_read()`` once right after the invalidation's first step, which reads the
    keys (and revokes fill tokens), and ``after_step()`` once right after its first removal
    step."""
    done: list[str] = []
    original_batch, original_script = RedisExecutor.batch, RedisExecutor.script

    async def hook(event: str, then: Any) -> None:
        if event not in done:
            done.append(event)
            await then()

    async def batch(self: RedisExecutor, calls: Sequence[Any], **kw: Any) -> list[Any]:
        replies = await original_batch(self, calls, **kw)
        first = calls[0] if calls else None
        if isinstance(first, ScriptCall) and first.script.name == "project_invalidate_tag_begin":
            await hook("read", after_read)
        elif isinstance(first, ScriptCall) and first.script.name == "project_invalidate_tag":
            await hook("step", after_step)
        return replies

    async def script(self: RedisExecutor, script: LuaScript, *args: Any, **kw: Any) -> Any:
        reply = await original_script(self, script, *args, **kw)
        if script.name == "project_invalidate_begin":
            await hook("read", after_read)
        elif script.name == "project_invalidate":
            await hook("step", after_step)
        return reply

    monkeypatch.setattr(RedisExecutor, "batch", batch)
    monkeypatch.setattr(RedisExecutor, "script", script)
    return done


async def test_an_entry_written_during_a_project_invalidation_is_deleted_or_newer(
    cache: CacheManager, writer: CacheManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = uuid4()
    view, concurrent = cache.project(project), writer.project(project)
    for n in range(10):
        await view.set(f"e{n}", {"v": 1})

    async def after_read() -> None:
        await concurrent.set("e0", {"v": 2})  # listed by the read, rewritten since
        await concurrent.set("late", {"v": 2})  # written after the read

    async def after_step() -> None:
        await concurrent.set("later", {"v": 2})  # written after the step that listed "late"

    done = _interleave(monkeypatch, after_read, after_step)
    # Each step removes what the step before listed, and lists what is there now; the steps
    # are capped by what the first one left (here 1: one more step). So e0 (rewritten) and
    # "late" are deleted; "later" is listed by that last step, which is the cap: it survives.
    # An entry that survives was written after the invalidation's last look at the index:
    # it is newer than the invalidation. It is indexed: the next invalidation removes it.
    assert await cache.invalidate_project_cache(project) == 11
    assert done == ["read", "step"]
    assert await view.keys() == ["later"]
    assert await cache.invalidate_project_cache(project) == 1


async def test_a_tagged_entry_written_during_a_tag_invalidation_is_deleted_or_newer(
    cache: CacheManager, writer: CacheManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = uuid4()
    view, concurrent = cache.project(project), writer.project(project)
    for name in ("a", "b", "c"):
        await view.set(name, 1, tags=["t"])

    async def after_read() -> None:
        await concurrent.set("a", 2, tags=["t"])  # rewritten with the tag: deleted
        await concurrent.set("b", 2)  # rewritten without it: not the tag's any more, kept
        await concurrent.set("late", 2, tags=["t"])  # tagged after the read: the next step's

    async def after_step() -> None:
        await concurrent.set("later", 2, tags=["t"])  # after the last step's look: newer

    done = _interleave(monkeypatch, after_read, after_step)
    assert await cache.invalidate_by_tag("t") == 3  # a, c and late
    assert done == ["read", "step"]
    assert await view.get_many(["a", "b", "c", "late", "later"]) == {"b": 2, "later": 2}
    assert await cache.invalidate_by_tag("t") == 1  # later is in the registry and tag index


class TwoNodes:
    """A router over two connection sets, routing by slot parity: a cluster's shape (no
    common order between nodes) on one test server."""

    def __init__(self, url: str) -> None:
        endpoint = parse_url(url)
        self._nodes = (NodePool(endpoint, size=1, limits=Limits()),
                       NodePool(endpoint, size=1, limits=Limits()))  # fmt: skip

    @property
    def nodes(self) -> Sequence[NodePool]:
        return self._nodes

    def route(self, key: str | bytes | None) -> NodePool:
        return self._nodes[0 if key is None else key_slot(key) % 2]

    async def open(self) -> None:
        for node in self._nodes:
            await node.open()

    async def close(self) -> None:
        for node in self._nodes:
            await node.close()


async def test_on_two_nodes_the_registries_are_acknowledged_before_the_entry_is_sent(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[list[str]] = []
    original = RedisExecutor._pipeline
    original_script = RedisExecutor.script

    async def pipeline(self: RedisExecutor, calls: Sequence[Any]) -> list[Any]:
        sent.append([c.script.name if isinstance(c, ScriptCall) else str(c[0]) for c in calls])
        replies = await original(self, calls)
        sent.append(["acknowledged"])
        return replies

    async def script(self: RedisExecutor, script: Any, *args: Any, **kw: Any) -> Any:
        sent.append([script.name])
        return await original_script(self, script, *args, **kw)

    monkeypatch.setattr(RedisExecutor, "_pipeline", pipeline)
    monkeypatch.setattr(RedisExecutor, "script", script)
    router = TwoNodes(redis_url)
    client = aioredis.Redis.from_url(redis_url)
    breaker = CircuitBreaker(failure_threshold=1000, reset_timeout=1.0)
    executor = RedisExecutor(client, "jeex", breaker=breaker, router=router)
    repository = RedisProjectCacheRepository(executor)
    project, tags = uuid4(), frozenset({CacheTag("x"), CacheTag("y")})
    try:
        result = await repository.set_if_newer(project, "k", b"1", TTL(60_000), tags, None)
        assert result.version == 1
        writes = sent[:]
        assert await repository.invalidate_tag(CacheTag("y")) == 1
    finally:
        await router.close()
        await client.aclose()
    assert writes == [
        ["tag_register", "tag_register"], ["acknowledged"], ["project_set"], ["acknowledged"]
    ]  # fmt: skip
    assert await _registered(redis_url, project) == {"x", "y"}


async def _registered(url: str, project: UUID) -> set[str]:
    async with aioredis.Redis.from_url(url) as raw:
        found = set()
        for tag in ("x", "y"):
            if await raw.zscore(f"jeex:tag:{{{tag}}}:projects", str(project)) is not None:
                found.add(tag)
        return found


async def test_an_entry_whose_registration_failed_is_removed_again(
    cache: CacheManager, redis_url: str
) -> None:
    project = uuid4()
    async with aioredis.Redis.from_url(redis_url) as raw:
        await raw.set("jeex:tag:{broken}:projects", "not a sorted set")  # the step fails
        assert await cache.cache_project_data(project, 1, tags=["ok", "broken"]) is False
        assert await cache.get_project_data(project) is None  # never left unregistered
        assert await raw.exists(f"jeex:proj:{{{project}}}:data") == 0
    assert await cache.cache_project_data(project, 1, tags=["ok"]) is True
