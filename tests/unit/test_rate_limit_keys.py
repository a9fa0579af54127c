"""Rate-limit identifiers and keys: IP normalisation, scopes, window names, the result type."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeex_cache import (
    CacheKey,
    CacheManager,
    InvalidIdentifierError,
    RateLimitConfig,
    RateLimitPolicy,
    RateLimitResult,
    RateLimitWindow,
    Settings,
)
from jeex_cache.core.errors import BackendError
from jeex_cache.core.identifiers import validate_token
from jeex_cache.core.ip_address import normalize_ip
from jeex_cache.rate_limit.failures import RATE_LIMIT
from jeex_cache.rate_limit.keys import window_label


@given(st.ip_addresses(v=6), st.integers(0, 2**64 - 1), st.integers(1, 128))
def test_an_ipv6_network_is_one_key_safe_identifier(
    address: ipaddress.IPv6Address, host: int, prefix: int
) -> None:
    if address.ipv4_mapped is not None:
        return
    network = ipaddress.IPv6Network((address, prefix), strict=False)
    neighbour = network[host % network.num_addresses]
    if neighbour.ipv4_mapped is not None:
        return
    identifier = normalize_ip(str(address), prefix)
    assert identifier == normalize_ip(str(neighbour), prefix)
    assert identifier == normalize_ip(address.exploded.upper(), prefix)
    assert validate_token(identifier, "identifier") == identifier  # no ':' reaches a key
    assert identifier.endswith(f"_{prefix}")


@given(st.ip_addresses(v=6), st.ip_addresses(v=6))
def test_distinct_64s_never_share_an_identifier(
    first: ipaddress.IPv6Address, second: ipaddress.IPv6Address
) -> None:
    if first.ipv4_mapped is not None or second.ipv4_mapped is not None:
        return
    same = int(first) >> 64 == int(second) >> 64
    assert (normalize_ip(str(first)) == normalize_ip(str(second))) == same


@pytest.mark.parametrize(
    ("spelled", "identifier"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("[2001:db8::1]", "2001-db8--_64"),
        ("fe80::1%eth0", "fe80--_64"),
        ("::1", "--_64"),
        ("2001:db8:1:2:3:4:5:6", "2001-db8-1-2--_64"),
    ],
)
def test_ip_spellings(spelled: str, identifier: str) -> None:
    assert normalize_ip(spelled) == identifier


@pytest.mark.parametrize("bad", ["", "x", "1.2.3", "1.2.3.4/32", "2001:db8::g", "1" * 70])
def test_bad_ips_are_identifier_errors(bad: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        normalize_ip(bad)


def test_rate_limit_keys() -> None:
    assert CacheKey.rate_limit("user", "user123", RateLimitWindow.HOUR).value == (
        "rl:{user.user123}:hour"
    )
    assert CacheKey.rate_limit("ip", "2001:db8::5", 60, "api").value == (
        "rl:{ip.2001-db8--_64}:api.minute"
    )
    assert CacheKey.rate_limit("ip", "2001:db8::5", 90, ipv6_prefix=48).value == (
        "rl:{ip.2001-db8--_48}:90s"
    )
    longest = CacheKey.rate_limit("s" * 32, "x" * 128, 31_622_400, "p" * 32)
    assert len("jeex:" + longest.value) < 250


def test_window_labels() -> None:
    assert [window_label(s) for s in (60, 3600, 86400, 1, 61)] == [
        "minute",
        "hour",
        "day",
        "1s",
        "61s",
    ]


def test_policy_orders_windows_and_names_them() -> None:
    policy = RateLimitPolicy.of(RateLimitConfig(5, 86400), RateLimitConfig(1, 60, 2), name="up")
    assert policy.names == ("up.minute", "up.day")
    assert policy.arguments == (3, 60_000, 5, 86_400_000)
    assert policy == RateLimitPolicy.of(
        RateLimitConfig(1, 60, 2), RateLimitConfig(5, 86400), name="up"
    )


def test_result_reads_as_attributes_and_as_a_mapping() -> None:
    policy = RateLimitPolicy.per(minute=2, hour=10)
    result = RateLimitResult(policy, None, [0, 41_500, 2, 41_500, 6, 3_000_000])
    assert (result.allowed, result.limit, result.remaining) == (False, 2, 0)
    assert result.retry_after == result["reset_seconds"] == 41.5
    assert "error" not in result
    assert "allowed" in result
    assert "nope" not in result
    assert len(result) == 5
    assert next(iter(result)) == "allowed"
    assert result.windows == ()  # no subject: built by hand


def test_the_failure_row_allows_and_says_why() -> None:
    row = RATE_LIMIT
    assert row.fallback is not None
    degraded = row.fallback()
    assert degraded["allowed"] is True
    assert "error" in degraded
    assert row.answer is not None

    class Closed:
        rate_limit_fail_closed = True

    refused = row.answer(Closed(), BackendError("down"))
    assert refused["allowed"] is False
    assert "down" in refused["error"]
    assert len(refused) == 6


async def test_a_bool_identifier_is_refused_even_after_its_int_was_checked() -> None:
    async with CacheManager(Settings(redis_url=None)) as cache:
        await cache.check_rate_limit(1, "user")
        with pytest.raises(InvalidIdentifierError):
            await cache.check_rate_limit(True, "user")
