"""``RateLimitRepository`` on Redis: one EVALSHA of ``rate_limit_hit.lua`` per check.

Window ``i`` of a limited identifier is a list under ``<ns>:rl:{<scope>.<id>}:<name_i>``
holding the times (ms, newest first) of the admissions in the window: at most the window's
limit of them, each about 10 bytes (listpack integers). All windows of one identifier share
its hash tag, so the script touches one cluster slot. The script reads the server's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from jeex_cache.core.clock import Clock
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import LuaScript
from jeex_cache.rate_limit.keys import window_keys
from jeex_cache.rate_limit.policy import RateLimitPolicy

__all__ = ["RedisRateLimitRepository"]

_HIT = LuaScript.load(__name__, "rate_limit_hit")

T = TypeVar("T")


class RedisRateLimitRepository:
    """Sliding logs in Redis lists; see the module docstring.

    ``clock`` is for tests only: it replaces the server's clock so that window arithmetic can
    be driven by hand. Production code leaves it None, and every app server shares the Redis
    server's clock.
    """

    def __init__(self, executor: RedisExecutor, clock: Clock | None = None) -> None:
        self._redis = executor
        self._keys = executor.keys
        self._clock = clock

    def hit(
        self, prefix: str, policy: RateLimitPolicy, answer: Callable[[list[int]], T]
    ) -> Coroutine[Any, Any, T]:
        # The executor's coroutine is handed back as it is, and builds the answer itself:
        # no frame of ours sits in the await chain of a check.
        keys = window_keys(prefix, policy.names, self._keys)
        args: tuple[int, ...] = policy.arguments  # without a time: the server's clock
        if self._clock is not None:
            args += (round(self._clock.time() * 1000),)
        return self._redis.script(_HIT, keys, args, answer)
