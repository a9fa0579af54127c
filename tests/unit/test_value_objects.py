"""Value objects and key building, with hypothesis where a property holds for all inputs."""

from __future__ import annotations

import re
import string
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeex_cache import (
    TTL,
    CacheKey,
    CacheTag,
    InvalidIdentifierError,
    InvalidInputError,
    InvalidTTLError,
    RateLimitConfig,
    RateLimitWindow,
)

NAME_ALPHABET = string.ascii_letters + string.digits + "_.-"
names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=100)
bad_names = st.text(min_size=1, max_size=120).filter(
    lambda s: re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", s) is None
)


# -- TTL ---------------------------------------------------------------------------------


def test_ttl_presets_are_the_spec_figures() -> None:
    assert TTL.project_data().total_seconds == 3_600
    assert TTL.user_session().total_seconds == 7_200
    assert TTL.progress().total_seconds == 1_800
    assert TTL.task_status().total_seconds == 86_400
    windows = [TTL.rate_limit(w).total_seconds for w in RateLimitWindow]
    assert windows == [60, 3_600, 86_400]


def test_ttl_constructors_agree() -> None:
    assert TTL.hours(2) == TTL.minutes(120) == TTL.seconds(7_200) == TTL(7_200_000)
    assert TTL.days(1) == TTL.task_status()
    assert TTL.seconds(0.25).milliseconds == 250


@given(st.floats(min_value=0.001, max_value=10 * 365 * 86_400, allow_nan=False))
def test_ttl_accepts_every_positive_duration(seconds: float) -> None:
    ttl = TTL.seconds(seconds)
    assert ttl.milliseconds >= 1
    assert abs(ttl.total_seconds - seconds) <= 0.0005 + 1e-9 * seconds


@given(st.one_of(st.floats(max_value=0), st.integers(max_value=0), st.just(float("nan"))))
def test_ttl_refuses_zero_negative_and_nan(seconds: float) -> None:
    with pytest.raises(InvalidTTLError):
        TTL.seconds(seconds)


@pytest.mark.parametrize("value", [True, "60", None, float("inf"), 0.0004])
def test_ttl_refuses_non_numbers_and_sub_millisecond(value: object) -> None:
    with pytest.raises(InvalidTTLError):
        TTL.seconds(value)  # type: ignore[arg-type]


def test_ttl_is_frozen_and_hashable() -> None:
    ttl = TTL.minutes(1)
    with pytest.raises(AttributeError):
        ttl.milliseconds = 5  # type: ignore[misc]
    assert {ttl, TTL.seconds(60)} == {ttl}


def test_ttl_refuses_ms_that_are_not_int() -> None:
    with pytest.raises(InvalidTTLError):
        TTL(1.5)  # type: ignore[arg-type]


# -- CacheTag -------------------------------------------------------------------------------


@given(names)
def test_tag_accepts_the_charset(name: str) -> None:
    assert CacheTag(name).name == name


@given(bad_names)
def test_tag_refuses_everything_else(name: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        CacheTag(name)


def test_project_tag() -> None:
    project = UUID("12345678-1234-5678-1234-567812345678")
    assert CacheTag.project(project) == CacheTag.project(str(project))
    assert CacheTag.project(project).name == f"project.{project}"
    assert CacheTag.project(42) == CacheTag.project("42") != CacheTag.project("042")
    assert CacheTag.project("acme.eu").name == "project.acme.eu"
    with pytest.raises(InvalidIdentifierError):
        CacheTag.project("no pe")


# -- rate limit value objects ------------------------------------------------------------------


def test_rate_limit_config() -> None:
    config = RateLimitConfig(requests_per_window=100, window_seconds=3600, burst_allowed=5)
    assert config.limit == 105
    assert RateLimitConfig.per(RateLimitWindow.MINUTE, 10) == RateLimitConfig(10, 60, 0)


@pytest.mark.parametrize(
    ("requests", "window", "burst"),
    [(0, 60, 0), (1, 0, 0), (1, 60, -1), (1.5, 60, 0), (True, 60, 0)],
)
def test_rate_limit_config_refuses_nonsense(requests: int, window: int, burst: int) -> None:
    with pytest.raises(InvalidInputError):
        RateLimitConfig(requests, window, burst)


# -- CacheKey ---------------------------------------------------------------------------------


@given(st.uuids(), names)
def test_project_keys_share_one_hash_tag_and_stay_short(project: UUID, name: str) -> None:
    keys = [
        CacheKey.project_data(project),
        CacheKey.project_entry(project, name),
        CacheKey.project_index(project),
        CacheKey.project_tags(project),
        CacheKey.project_tag_index(project, CacheTag(name)),
    ]
    for key in keys:
        assert key.value.startswith(f"proj:{{{project}}}:")
        assert key.value.count("{") == key.value.count("}") == 1
        assert len("jeex:" + key.value) < 250


@given(st.uuids(), st.uuids(), names, names)
def test_distinct_projects_or_names_never_share_a_key(
    first: UUID, second: UUID, name_a: str, name_b: str
) -> None:
    a = CacheKey.project_entry(first, name_a)
    b = CacheKey.project_entry(second, name_b)
    assert (a == b) == (first == second and name_a == name_b)


@given(st.uuids(), bad_names)
def test_entry_names_that_could_escape_are_refused(project: UUID, name: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        CacheKey.project_entry(project, name)


def test_spec_constructors() -> None:
    project = UUID("12345678-1234-5678-1234-567812345678")
    assert CacheKey.project_data(project).value == f"proj:{{{project}}}:data"
    session_key = CacheKey.user_session("abc_DEF-123")
    assert "abc_DEF-123" not in session_key.value  # hashed, never the raw ID
    assert re.fullmatch(r"sess:\{[0-9a-f]{64}\}", session_key.value)
    assert CacheKey.rate_limit("user", "user123", RateLimitWindow.HOUR).value == (
        "rl:{user.user123}:hour"
    )
    assert str(CacheKey.progress(project)) == f"progress:{{{project}}}"
    assert CacheKey.task_queue("emails").value == "queue:{emails}"


@pytest.mark.parametrize(
    "build",
    [
        lambda: CacheKey.user_session("has:colon"),
        lambda: CacheKey.rate_limit("user", "a b", RateLimitWindow.MINUTE),
        lambda: CacheKey.rate_limit("us:er", "x", RateLimitWindow.MINUTE),
        lambda: CacheKey.progress("{x}"),
        lambda: CacheKey.task("*"),
        lambda: CacheKey.user_sessions("not:an-id"),
        lambda: CacheKey.user_sessions("{u1}"),
    ],
)
def test_other_constructors_validate_their_parts(build: object) -> None:
    with pytest.raises(InvalidIdentifierError):
        build()  # type: ignore[operator]


def test_overlong_key_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        CacheKey("x" * 217)
