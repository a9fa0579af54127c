"""Server time of each script call of the large walks, from SLOWLOG (every call logged).

``python -m benchmarks.script_steps [--entries 100000]`` starts a throw-away redis-server,
fills one project through the real write script, then reports per call (count, p50, p95,
max) for a project invalidation, a listing, a tag invalidation, and claims over 150k stale
queue entries. See "Bounded scripts" in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import UUID, uuid4

import redis

from jeex_cache import CacheManager, CacheTag, Settings
from jeex_cache._keys import CacheKey
from jeex_cache.core.scripts import LuaScript
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.testing import RedisServer

__all__ = ["main"]

DAY_MS = 86_400_000


def seed(raw: redis.Redis, project: UUID, count: int, tag: str | None = None) -> None:
    """``count`` entries of ``project`` written by ``project_set.lua``, pipelined."""
    sha = raw.script_load(LuaScript.load("jeex_cache.project_cache.redis", "project_set").source)
    base = [
        "jeex:" + CacheKey.project_index(project).value,
        "jeex:" + CacheKey.project_tags(project).value,
        "jeex:" + project_keys.fills(project).value,
    ]
    extra_keys: list[str] = []
    extra_args = ["", ""]  # no tags, no fill token
    if tag is not None:
        cache_tag = CacheTag(tag)
        extra_keys = ["jeex:" + CacheKey.project_tag_index(project, cache_tag).value]
        extra_args = [f"|{tag}|", "", tag]
        # the registration step, before the entries (tag_register.lua does it per write)
        raw.zadd("jeex:" + CacheKey.tag_projects(cache_tag).value, {str(project): 2**50})
    for start in range(0, count, 5_000):
        with raw.pipeline(transaction=False) as pipe:
            for i in range(start, min(count, start + 5_000)):
                entry = "jeex:" + CacheKey.project_entry(project, f"e{i}").value
                keys = [entry, *base, *extra_keys]
                pipe.evalsha(sha, len(keys), *keys, b"1", DAY_MS, "", *extra_args)
            pipe.execute()


def script_times(raw: redis.Redis) -> list[float]:
    """Milliseconds of each script call since the last reset, then reset."""
    entries = raw.slowlog_get(1_000_000)
    raw.slowlog_reset()
    names = (b"EVALSHA", b"EVAL")
    return [e["duration"] / 1000 for e in entries if e["command"].split()[0].upper() in names]


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p50, p95 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]
    print(
        f"{label:42s} calls {len(ordered):5d}  p50 {p50:5.2f} ms  p95 {p95:5.2f} ms  "
        f"max {ordered[-1]:6.2f} ms"
    )


async def run(entries: int, stale: int) -> None:
    with RedisServer.start() as server, redis.Redis.from_url(server.url) as raw:
        raw.config_set("slowlog-log-slower-than", 0)
        raw.config_set("slowlog-max-len", 1_000_000)
        async with CacheManager(Settings(redis_url=server.url)) as cache:
            project = uuid4()
            seed(raw, project, entries)
            script_times(raw)
            await cache.project(project).keys()
            report(f"list {entries:,} entries", script_times(raw))
            await cache.invalidate_project_cache(project)
            report(f"invalidate_project {entries:,} entries", script_times(raw))
            project = uuid4()
            seed(raw, project, entries, tag="t")
            script_times(raw)
            await cache.project(project).invalidate_tag("t")
            report(f"invalidate_tag {entries:,} entries", script_times(raw))
            due = int(time.time() * 1000) - 1_000
            for start in range(0, stale, 10_000):
                members = {f"s{i}": due for i in range(start, min(stale, start + 10_000))}
                raw.zadd("jeex:queue:{stale}", members)  # entries of vanished tasks
            script_times(raw)
            while (await cache.task_queue.claim("stale", "w", 30)).wait == 0:
                pass
            report(f"claims over {stale:,} stale queue entries", script_times(raw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--stale", type=int, default=150_000)
    args = parser.parse_args()
    asyncio.run(run(args.entries, args.stale))


if __name__ == "__main__":
    main()
