"""The Redis backend preloads every script of every capability at start-up."""

from __future__ import annotations

import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.core.scripts import loaded


async def test_start_up_loads_every_registered_script(redis_url: str, raw: redis.Redis) -> None:
    raw.script_flush()
    async with CacheManager(Settings(redis_url=redis_url)):
        scripts = loaded()
        assert len(scripts) >= 28
        assert raw.script_exists(*[script.sha.decode() for script in scripts]) == [True] * len(
            scripts
        )
