"""The names the Redis backend stores: every key under the configured namespace, each family
in its hash tag, exactly as the key modules spell them (callers and tools rely on them)."""

from __future__ import annotations

from uuid import UUID

import redis

from jeex_cache import CacheManager, RateLimitConfig, Settings
from jeex_cache.sessions.keys import session_digest

PROJECT = UUID("12345678-1234-5678-1234-567812345678")
USER = UUID("87654321-4321-8765-4321-876543218765")


async def test_one_call_per_capability_writes_exactly_these_keys(
    redis_url: str, raw: redis.Redis
) -> None:
    async with CacheManager(Settings(redis_url=redis_url, cache_namespace="ns-1")) as cache:
        assert await cache.cache_project_data(PROJECT, {"a": 1}, tags=["t1"])
        await cache.project(PROJECT).set("entry", 1)
        session = await cache.create_user_session(USER)
        assert (await cache.check_rate_limit("u1", "user", RateLimitConfig(5, 60))).allowed
        await cache.start_progress_tracking("op-1", 3)
        await cache.enqueue_task("emails", "send", task_id="t-1")
    assert session is not None
    assert session.session_id is not None
    digest = session_digest(session.session_id)
    assert {key.decode() for key in raw.scan_iter("*")} == {
        f"ns-1:proj:{{{PROJECT}}}:data",
        f"ns-1:proj:{{{PROJECT}}}:kv:entry",
        f"ns-1:proj:{{{PROJECT}}}:index",
        f"ns-1:proj:{{{PROJECT}}}:tags",
        f"ns-1:proj:{{{PROJECT}}}:tag:t1",
        "ns-1:tag:{t1}:projects",
        f"ns-1:sess:{{{digest}}}",
        f"ns-1:user:{{{USER}}}:sessions",
        f"ns-1:user:{{{USER}}}:sessions:adds",
        "ns-1:rl:{user.u1}:minute",
        "ns-1:progress:{op-1}",
        "ns-1:progress:{op-1}:events",
        "ns-1:task:{t-1}",  # the pointer of a caller-chosen task ID to its queue
        "ns-1:queue:{emails}:rec",
        "ns-1:queue:{emails}:prio",
        "ns-1:queue:{emails}:fifo",
        "ns-1:queue:{emails}:ring",
        "ns-1:queue:{emails}:meta",
        "ns-1:queue:{emails}:wake",
    }
