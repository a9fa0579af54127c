"""Task rules that need no backend: retry backoff, statuses, keys, worker settings."""

from __future__ import annotations

from typing import Any

import pytest

from jeex_cache import (
    CacheKey,
    CacheManager,
    InvalidInputError,
    RetryPolicy,
    Settings,
    TaskContext,
    TaskStatus,
    Worker,
)


def test_backoff_doubles_from_the_delay_up_to_the_maximum() -> None:
    policy = RetryPolicy(delay=1.0, multiplier=2.0, maximum=10.0)
    assert [policy.seconds_after(attempt) for attempt in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert RetryPolicy(delay=0).seconds_after(5) == 0
    assert RetryPolicy().seconds_after(10_000) == 300.0  # no overflow for absurd attempts


@pytest.mark.parametrize(
    "options", [{"delay": -1}, {"multiplier": 0.5}, {"maximum": float("inf")}, {"delay": "1"}]
)
def test_bad_retry_policies_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        RetryPolicy(**options)


def test_finished_statuses() -> None:
    assert {s for s in TaskStatus if s.finished} == {
        TaskStatus.SUCCEEDED,
        TaskStatus.DEAD,
        TaskStatus.CANCELLED,
    }


def test_queue_keys_share_the_queue_hash_tag() -> None:
    assert CacheKey.task_queue_part("emails", "running").value == "queue:{emails}:running"
    assert CacheKey.task("abc").value == "task:{abc}"
    with pytest.raises(InvalidInputError):
        CacheKey.task_queue_part("emails", "x:y")


async def handler(ctx: TaskContext, payload: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("queue", "handlers", "options"),
    [
        ("bad queue", {"h": handler}, {}),
        ("q", {}, {}),
        ("q", {"bad name": handler}, {}),
        ("q", {"h": "not callable"}, {}),
        ("q", {"h": handler}, {"concurrency": 0}),
        ("q", {"h": handler}, {"visibility_timeout": 0}),
        ("q", {"h": handler}, {"max_wait": -1}),
    ],
)
def test_bad_worker_settings_are_refused(
    queue: str, handlers: dict[str, Any], options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError):
        Worker(CacheManager(Settings(redis_url=None)), queue, handlers, **options)
