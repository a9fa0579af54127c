"""Every script does bounded work: large invalidations, listings and stale queues are walked
in many short script calls. Counted at the server (INFO commandstats) and per reply, never
timed."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis

from jeex_cache import CacheManager, CacheTag
from jeex_cache._keys import CacheKey
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import LuaScript
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache import redis as project_cache
from jeex_cache.tasks import redis as tasks
from tests.integration.conftest import RoundTrips

CHUNK = project_cache.CHUNK
TAG_CHUNK = project_cache.TAG_CHUNK
DAY_MS = 86_400_000


def _scripts_run(raw: redis.Redis) -> int:
    stats: dict[str, Any] = raw.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def _seed(
    raw: redis.Redis, project: UUID, count: int, tag: str | None = None, name: str = "e"
) -> None:
    """``count`` entries written through the real write script, pipelined from a raw client."""
    script = LuaScript.load("jeex_cache.project_cache.redis", "project_set")
    sha = raw.script_load(script.source)
    prefix = "jeex:"
    index = prefix + CacheKey.project_index(project).value
    tags = prefix + CacheKey.project_tags(project).value
    fills = prefix + project_keys.fills(project).value
    extra_keys: list[str] = []
    extra_args: list[str] = ["", ""]  # no tags, no fill token
    if tag is not None:
        cache_tag = CacheTag(tag)
        extra_keys = [prefix + CacheKey.project_tag_index(project, cache_tag).value]
        extra_args = [f"|{tag}|", "", tag]
        registry = prefix + CacheKey.tag_projects(cache_tag).value
        raw.zadd(registry, {str(project): 2**50})  # the registration step, done first
    for start in range(0, count, 5_000):
        with raw.pipeline(transaction=False) as pipe:
            for i in range(start, min(count, start + 5_000)):
                entry = prefix + CacheKey.project_entry(project, f"{name}{i}").value
                keys = [entry, index, tags, fills, *extra_keys]
                pipe.evalsha(sha, len(keys), *keys, b"1", DAY_MS, "", *extra_args)
            pipe.execute()


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every (script name, reply) the executor runs, alone or pipelined, in order."""
    seen: list[tuple[str, Any]] = []
    original = RedisExecutor.script

    async def spying(self: RedisExecutor, script: LuaScript, *args: Any, **kw: Any) -> Any:
        reply = await original(self, script, *args, **kw)
        seen.append((script.name, reply))
        return reply

    original_pipelined = RedisExecutor.scripts_pipelined

    async def spying_pipelined(self: RedisExecutor, script: LuaScript, calls: Any) -> Any:
        batch = await original_pipelined(self, script, calls)
        seen.extend((script.name, reply) for reply in batch)
        return batch

    monkeypatch.setattr(RedisExecutor, "script", spying)
    monkeypatch.setattr(RedisExecutor, "scripts_pipelined", spying_pipelined)
    return seen


async def test_invalidating_100k_entries_takes_bounded_steps(
    cache: CacheManager, raw: redis.Redis, replies: list[tuple[str, Any]]
) -> None:
    project = uuid4()
    _seed(raw, project, 100_000)
    before = _scripts_run(raw)
    assert await cache.invalidate_project_cache(project) == 100_000
    calls = _scripts_run(raw) - before
    steps = [reply for name, reply in replies if name == "project_invalidate"]
    assert calls - 1 == len(steps) == 100_000 // CHUNK  # after the first step (the read)
    assert all(step[0] <= CHUNK for step in steps)
    assert sum(step[0] for step in steps) == 100_000
    assert not list(raw.scan_iter(f"jeex:proj:{{{project}}}:*"))


async def test_listing_100k_entries_takes_bounded_pages(
    cache: CacheManager, raw: redis.Redis, replies: list[tuple[str, Any]]
) -> None:
    project = uuid4()
    _seed(raw, project, 100_000)
    before = _scripts_run(raw)
    names = await cache.project(project).keys()
    calls = _scripts_run(raw) - before
    assert sorted(names) == sorted(f"e{i}" for i in range(100_000))
    pages = [reply for name, reply in replies if name == "project_list"]
    assert calls == len(pages) == 100_000 // CHUNK + 1  # the last full page asks once more
    assert all(len(page) - 3 <= CHUNK for page in pages)


async def test_a_tag_on_30k_entries_is_invalidated_in_bounded_steps(
    cache: CacheManager, raw: redis.Redis, replies: list[tuple[str, Any]]
) -> None:
    project = uuid4()
    _seed(raw, project, 30_000, tag="bulk")
    _seed(raw, project, 10, name="plain")  # untagged entries stay
    before = _scripts_run(raw)
    assert await cache.project(project).invalidate_tag("bulk") == 30_000
    calls = _scripts_run(raw) - before
    assert calls == 1 + 30_000 // TAG_CHUNK  # the first step (the read), then the removals
    steps = [reply for name, reply in replies if name == "project_invalidate_tag"]
    left = [30_000 - TAG_CHUNK * n for n in range(1, 30_000 // TAG_CHUNK + 1)]
    assert [step[:2] for step in steps] == [[TAG_CHUNK, n] for n in left]
    assert len(await cache.project(project).keys()) == 10


async def test_a_tag_across_projects_needs_one_pipelined_round_per_chunk(
    cache: CacheManager, raw: redis.Redis
) -> None:
    big, small = uuid4(), uuid4()
    _seed(raw, big, 2 * TAG_CHUNK + 100, tag="t")
    _seed(raw, small, 3, tag="t")
    before = _scripts_run(raw)
    assert await cache.invalidate_by_tag("t") == 2 * TAG_CHUNK + 103
    # big: the read and 3 steps; small: the read and 1, in the first round; and the
    # registry's bounded prune
    assert _scripts_run(raw) - before == (1 + 3) + (1 + 1) + 1


async def test_a_write_prunes_at_most_100_expired_index_members(
    cache: CacheManager, raw: redis.Redis
) -> None:
    project = uuid4()
    index = f"jeex:proj:{{{project}}}:index"
    raw.zadd(index, {f"gone-{i}": 1_000 + i for i in range(1_000)})  # long expired
    await cache.project(project).set("new", 1)
    assert raw.zcard(index) == 1_000 - 100 + 1
    assert raw.zrange(index, 0, 0) == [b"gone-100"]  # the oldest went first
    assert await cache.cleanup_expired_entries() == 900
    assert raw.zcard(index) == 1


async def test_cancelling_a_task_removes_its_queue_entry_at_once(
    cache: CacheManager, raw: redis.Redis
) -> None:
    task_id = await cache.enqueue_task("jobs", "noop", delay=3600)
    assert raw.zcard("jeex:queue:{jobs}") == 1
    assert await cache.cancel_task(task_id)
    assert raw.zcard("jeex:queue:{jobs}") == 0
    assert not await cache.cancel_task(task_id)


async def test_a_claim_moves_at_most_32_due_tasks(cache: CacheManager, raw: redis.Redis) -> None:
    for _ in range(100):
        await cache.enqueue_task("jobs", "noop", delay=0.05)
    await asyncio.sleep(0.2)
    first = await cache.task_queue.claim("jobs", "w", 30)
    assert first.delivery is not None
    assert raw.zcard("jeex:queue:{jobs}") == 100 - 32  # the rest join at the next claims
    assert raw.zcard("jeex:queue:{jobs}:prio") == 32 - 1


def _groups_in_ring(raw: redis.Redis) -> int:
    """The projects taking turns: the ring's members but its layout marker (scored +inf)."""
    return int(raw.zcount("jeex:queue:{jobs}:ring", "-inf", "(+inf"))


async def test_a_claim_parks_at_most_16_capped_projects(
    cache: CacheManager, raw: redis.Redis
) -> None:
    projects = [uuid4() for _ in range(20)]
    for project in projects:
        await cache.enqueue_task("jobs", "noop", project_id=project)
        await cache.enqueue_task("jobs", "noop", project_id=project)
    queue = cache.task_queue
    for _ in projects:  # one running task each: every project is at its cap of 1
        assert (await queue.claim("jobs", "w", 30, max_running=1)).delivery is not None
    busy = await queue.claim("jobs", "w", 30, max_running=1)
    assert (busy.delivery, busy.wait) == (None, 0)  # 16 parked: ask again at once
    assert _groups_in_ring(raw) == 4
    idle = await queue.claim("jobs", "w", 30, max_running=1)
    assert idle.delivery is None
    assert idle.wait != 0
    assert _groups_in_ring(raw) == 0


async def test_a_claims_work_does_not_grow_with_the_tenants(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    for n in range(300):
        await cache.enqueue_task("jobs", "noop", n, project_id=uuid4())
    round_trips.count  # noqa: B018 - the monitor has seen everything so far
    before = len(round_trips.script_commands)
    claim = await cache.task_queue.claim("jobs", "w", 30)
    round_trips.count  # noqa: B018 - and the claim's own commands
    assert claim.delivery is not None
    assert len(round_trips.script_commands[before:]) < 40  # 300 tenants, a fixed few steps


async def test_dead_tasks_are_listed_and_requeued_in_bounded_pages(
    cache: CacheManager, raw: redis.Redis, replies: list[tuple[str, Any]]
) -> None:
    count = tasks.CHUNK * 2 + 100
    for n in range(count):
        await cache.enqueue_task("jobs", "noop", task_id=f"d-{n}", max_attempts=1)
    queue = cache.task_queue
    for _ in range(count):
        delivery = (await queue.claim("jobs", "w", 30)).delivery
        assert delivery is not None
        await queue.fail(delivery, "boom", 0)
    assert raw.zcard("jeex:queue:{jobs}:dead") == count
    listed = await cache.list_dead_tasks("jobs", limit=count)
    ids = [t.task_id for t in listed]
    assert len(ids) == count
    assert set(ids) == {f"d-{n}" for n in range(count)}
    pages = [reply for name, reply in replies if name == "task_dead_list"]
    assert len(pages) == 3
    assert all((len(page) - 3) // 2 <= tasks.CHUNK for page in pages)
    assert await cache.requeue_dead_tasks("jobs") == count
    steps = [reply for name, reply in replies if name == "task_requeue"]
    assert [(len(step) - 2, step[:2]) for step in steps] == [
        (tasks.CHUNK, [0, 1]), (tasks.CHUNK, [0, 1]), (100, [0, 0])
    ]  # fmt: skip
    assert raw.zcard("jeex:queue:{jobs}:prio") == count
