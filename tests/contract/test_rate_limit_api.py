"""``CacheManager.check_rate_limit`` on both backends: the spec's usage, defaults, input rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import (
    CacheManager,
    InvalidIdentifierError,
    InvalidInputError,
    RateLimitConfig,
    RateLimitPolicy,
    RateLimitResult,
    Settings,
)
from jeex_cache.rate_limit.memory import MemoryRateLimitRepository
from jeex_cache.testing import key_count
from tests.conftest import raw_redis


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return Settings(redis_url=settings.redis_url, **changes)


@pytest.fixture
async def tight(settings: Settings) -> AsyncIterator[CacheManager]:
    """A manager whose default limit is 2 per minute and whose IPv6 clients are not grouped."""
    changed = with_settings(
        settings,
        rate_limit_default_requests=2,
        rate_limit_default_window=60,
        rate_limit_ipv6_prefix=128,
    )
    async with CacheManager(changed) as cache:
        yield cache


async def test_the_specs_example(manager: CacheManager) -> None:
    config = RateLimitConfig(requests_per_window=100, window_seconds=3600, burst_allowed=5)
    result = await manager.check_rate_limit("user123", "user", config)
    assert result["allowed"] is True
    assert "error" not in result
    assert (result.limit, result.remaining, result["remaining"]) == (105, 104, 104)
    assert 3599 <= result["reset_seconds"] <= 3600
    assert result.retry_after == result["retry_after"] == 0
    assert dict(result) == {
        "allowed": True,
        "limit": 105,
        "remaining": 104,
        "reset_seconds": result.reset_seconds,
        "retry_after": 0.0,
    }
    assert result.get("error") is None
    with pytest.raises(KeyError):
        result["windows"]


async def test_refusals_say_when_to_come_back(manager: CacheManager) -> None:
    config = RateLimitConfig(2, 60)
    results = [await manager.check_rate_limit("u1", "user", config) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, False, False]
    refused = results[-1]
    assert isinstance(refused, RateLimitResult)
    assert refused.remaining == 0
    assert 50 <= refused.retry_after == refused["reset_seconds"] <= 60  # real time passes
    assert refused.violated == ("minute",)


async def test_the_default_limit_is_the_setting(tight: CacheManager) -> None:
    results = [await tight.check_rate_limit("u2", "user") for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert results[0].limit == 2
    assert tight.rate_limit_policy().limits == (RateLimitConfig(2, 60),)


async def test_a_multi_window_policy_reports_its_tightest_window(manager: CacheManager) -> None:
    policy = RateLimitPolicy.per(minute=10, hour=3, day=100, name="api")
    result = await manager.check_rate_limit("u3", "user", policy)
    assert (result.limit, result.remaining) == (3, 2)
    assert [(w.name, w.limit, w.count) for w in result.windows] == [
        ("api.minute", 10, 1),
        ("api.hour", 3, 1),
        ("api.day", 100, 1),
    ]


async def test_the_ipv6_prefix_is_a_setting(tight: CacheManager) -> None:
    first = await tight.check_rate_limit("2001:db8::1", "ip")
    assert first.windows[0].identifier == "2001-db8--1_128"
    await tight.check_rate_limit("2001:db8::1", "ip")
    assert (await tight.check_rate_limit("2001:db8::2", "ip")).allowed  # not grouped
    assert not (await tight.check_rate_limit("2001:0db8:0::1", "ip")).allowed


async def test_a_project_is_one_identifier_however_it_is_spelled(tight: CacheManager) -> None:
    project = uuid4()
    await tight.check_rate_limit(project, "project")
    await tight.check_rate_limit(str(project).upper(), "project")
    assert not (await tight.check_rate_limit(str(project), "project")).allowed


@pytest.mark.parametrize(
    ("identifier", "scope", "limits"),
    [
        ("a b", "user", None),
        ("has:colon", "user", None),
        ("{tag}", "user", None),
        ("", "user", None),
        ("x" * 129, "user", None),
        ("x", "us.er", None),  # a '.' in the scope could forge another scope's hash tag
        ("x", "us:er", None),
        ("not-an-ip", "ip", None),
        ("10.0.0.1/8", "ip", None),
        ("not a uuid", "project", None),
        (["unhashable"], "user", None),
        (4.2, "user", None),
        (True, "user", None),
        (-1, "project", None),
        ("x", "user", "100/minute"),
        ("x", "user", 100),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    manager: CacheManager, settings: Settings, identifier: Any, scope: str, limits: Any
) -> None:
    with pytest.raises(InvalidInputError):
        await manager.check_rate_limit(identifier, scope, limits)
    assert not manager.failure_tracker.failures
    if settings.redis_url is None:
        repository = manager._rate_limits.repository
        assert isinstance(repository, MemoryRateLimitRepository)
        assert repository.key_count == 0
    else:
        if "+sentinel://" in settings.redis_url:
            with raw_redis(settings.redis_url) as raw:
                assert raw.dbsize() == 0
        else:
            assert key_count(settings.redis_url) == 0


@pytest.mark.parametrize(
    "build",
    [
        lambda: RateLimitPolicy(()),
        lambda: RateLimitPolicy.of(RateLimitConfig(1, 60), RateLimitConfig(2, 60)),
        lambda: RateLimitPolicy.of(RateLimitConfig(1, 60), name="has.dot"),
        lambda: RateLimitPolicy.of(RateLimitConfig(10**8, 60)),
        lambda: RateLimitPolicy.of(RateLimitConfig(1, 400 * 86_400)),
        lambda: RateLimitPolicy((RateLimitConfig(1, 60),) * 9),
        lambda: RateLimitPolicy.per(),
    ],
)
def test_policies_are_validated(build: Any) -> None:
    with pytest.raises(InvalidInputError):
        build()


def test_an_unknown_identifier_type_is_an_identifier_error() -> None:
    assert issubclass(InvalidIdentifierError, InvalidInputError)
