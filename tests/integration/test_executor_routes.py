"""The executor on a standalone server over both routes (redis-py alone, our transport): a
flushed script costs one SCRIPT LOAD, replies come in redis-py's shapes, errors translate."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
import redis

from jeex_cache import BackendError, Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker, CircuitState
from jeex_cache.core.connect import create_client, create_transport
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import LuaScript, ScriptCall

_SOURCE = "return ARGV[1]"
ECHO = LuaScript("echo", _SOURCE, hashlib.sha1(_SOURCE.encode()).hexdigest().encode())


@pytest.fixture(params=["redis-py", "transport"])
async def executor(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[RedisExecutor]:
    settings = Settings(redis_url=redis_url)
    client = create_client(settings)
    router = create_transport(settings) if request.param == "transport" else None
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=60.0)
    try:
        yield RedisExecutor(client, "jeex", breaker=breaker, router=router)
    finally:
        if router is not None:
            await router.close()
        await client.aclose()


def _script_loads(raw: redis.Redis) -> int:
    stats = raw.info("commandstats").get("cmdstat_script|load", {"calls": 0})
    return int(stats["calls"])


async def test_a_flushed_script_is_loaded_once_and_sent_again(
    executor: RedisExecutor, raw: redis.Redis
) -> None:
    raw.script_flush()
    raw.config_resetstat()
    assert await executor.script(ECHO, ["jeex:k"], ["one"]) == b"one"
    assert _script_loads(raw) == 1
    assert await executor.script(ECHO, ["jeex:k"], ["two"]) == b"two"
    assert _script_loads(raw) == 1


async def test_a_recurring_script_is_sent_again_after_a_flush_on_either_route(
    executor: RedisExecutor, raw: redis.Redis
) -> None:
    """``recurring``: the kept encoding of a command (our transport) goes out as the command
    did, a NOSCRIPT answer included; on redis-py's route nothing is kept."""
    for _ in range(2):
        assert await executor.script(ECHO, ["jeex:k"], ["again"], recurring=True) == b"again"
    raw.script_flush()
    raw.config_resetstat()
    decoded = await executor.script(ECHO, ["jeex:k"], ["again"], bytes.decode, recurring=True)
    assert decoded == "again"
    assert _script_loads(raw) == 1


async def test_a_batch_of_flushed_scripts_costs_one_load(
    executor: RedisExecutor, raw: redis.Redis
) -> None:
    raw.script_flush()
    raw.config_resetstat()
    calls = [ScriptCall(ECHO, [f"jeex:k{i}"], [str(i)]) for i in range(10)]
    results = await executor.batch([*calls, ("SET", "jeex:plain", "v")])
    assert results == [str(i).encode() for i in range(10)] + [
        True if executor.router is None else b"OK"
    ]
    assert _script_loads(raw) == 1
    assert raw.get("jeex:plain") == b"v"  # sent once, not again with the reloaded scripts


async def test_replies_have_redis_py_shapes_on_either_route(
    executor: RedisExecutor, raw: redis.Redis
) -> None:
    raw.hset("jeex:h", mapping={"a": "1"})
    assert await executor.command("HGETALL", "jeex:h") == {b"a": b"1"}
    assert await executor.batch([("HGETALL", "jeex:h")]) == [{b"a": b"1"}]
    assert (await executor.command("INFO", "server"))["redis_version"]
    assert await executor.command("PING") is True


async def test_an_error_reply_is_not_an_outage(executor: RedisExecutor, raw: redis.Redis) -> None:
    raw.set("jeex:s", "text")
    with pytest.raises(BackendError) as caught:
        await executor.command("HGET", "jeex:s", "field")  # WRONGTYPE
    assert not caught.value.transient
    assert executor.breaker.state is CircuitState.CLOSED
    assert executor.breaker.consecutive_failures == 0
