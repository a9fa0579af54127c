"""Guarantee 8: with Redis unreachable a check fails open (allowed, ``error`` in the result,
logged and counted), or refuses when ``RATE_LIMIT_FAIL_CLOSED`` is set."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from jeex_cache import CacheManager, InvalidInputError, RateLimitConfig, Settings
from jeex_cache.testing import RedisServer

CONFIG = RateLimitConfig(1, 60)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A server of this test's own, free to kill."""
    with RedisServer.start() as own:
        yield own


def settings_for(server: RedisServer, **changes: object) -> Settings:
    timeouts = {"redis_socket_timeout": 0.3, "redis_connect_timeout": 0.3}
    return Settings(redis_url=server.url, **timeouts, **changes)


async def test_checks_fail_open_while_redis_is_down(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with CacheManager(settings_for(server)) as cache:
        assert (await cache.check_rate_limit("u", "user", CONFIG)).allowed
        assert not (await cache.check_rate_limit("u", "user", CONFIG)).allowed
        server.kill()
        with caplog.at_level(logging.WARNING, logger="jeex_cache"):
            result = await cache.check_rate_limit("u", "user", CONFIG)
            await cache.check_rate_limit("u", "user", CONFIG)
        assert result["allowed"] is True
        assert "error" in result
        assert "unavailable" in result["error"]
        assert result.windows == ()
        assert result.retry_after == 0
        assert cache.failure_tracker.failures["check_rate_limit"] == 2
        assert any("check_rate_limit" in r.getMessage() for r in caplog.records)

        with pytest.raises(InvalidInputError):  # bad input is never "allowed"
            await cache.check_rate_limit("a b", "user", CONFIG)

        server.restart()  # an empty server: the log is gone, the script is reloaded
        result = await cache.check_rate_limit("u", "user", CONFIG)
        assert result.allowed
        assert "error" not in result
        assert not cache.failure_tracker.degraded


async def test_fail_closed_refuses_while_redis_is_down(server: RedisServer) -> None:
    async with CacheManager(settings_for(server, rate_limit_fail_closed=True)) as cache:
        assert (await cache.check_rate_limit("u", "user", CONFIG)).allowed
        server.kill()
        result = await cache.check_rate_limit("v", "user", CONFIG)
        assert result["allowed"] is False
        assert "error" in result
        assert result.retry_after > 0
        assert result["reset_seconds"] == result.retry_after
        assert cache.failure_tracker.failures["check_rate_limit"] == 1


def test_fail_closed_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_FAIL_CLOSED", "true")
    assert CacheManager(Settings()).rate_limit_fail_closed is True
