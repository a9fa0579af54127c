"""Which error replies are an outage (the failure table applies) and which a wrong call."""

from __future__ import annotations

import pytest
from redis.exceptions import NoPermissionError, OutOfMemoryError, ReadOnlyError, ResponseError

from jeex_cache.core._calls import outage_reply
from jeex_cache.core.transport import RETRYABLE_REPLIES, ReplyError

REFUSALS = [
    "NOAUTH Authentication required.",
    "WRONGPASS invalid username-password pair or user is disabled.",
    "NOPERM User default has no permissions to run the 'evalsha' command",
    "LOADING Redis is loading the dataset in memory",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "READONLY You can't write against a read only replica.",
    "OOM command not allowed when used memory > 'maxmemory'.",
    "MISCONF Redis is configured to save RDB snapshots, but it's unable to persist to disk.",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals_of_service_are_outages(text: str) -> None:
    code = text.split(" ", 1)[0]
    assert outage_reply(ReplyError(text)) == code
    assert outage_reply(ResponseError(text)) == code  # redis-py's dedicated connections


@pytest.mark.parametrize(
    ("error", "code"),
    [(NoPermissionError("no rights"), "NOPERM"), (ReadOnlyError("replica"), "READONLY"),
     (OutOfMemoryError("full"), "OOM")],
)  # fmt: skip
def test_redis_py_classes_whose_code_it_strips(error: ResponseError, code: str) -> None:
    assert outage_reply(error) == code


@pytest.mark.parametrize(
    "text", ["WRONGTYPE Operation against a key", "ERR unknown command", "NOSCRIPT No matching"]
)
def test_a_wrong_call_is_no_outage(text: str) -> None:
    assert outage_reply(ReplyError(text)) is None
    assert outage_reply(ResponseError(text)) is None


def test_only_the_passing_refusals_are_retried() -> None:
    assert {"LOADING", "MASTERDOWN", "READONLY"} == RETRYABLE_REPLIES
