"""The rate-limit contract on both backends, on a clock moved by hand.

Guarantee 1 (never over-admits) and exactness: every decision equals a plain sliding log's.
Guarantee 2: a client at or below ``requests_per_window / window_seconds`` is never refused.
Guarantee 4: a policy of several windows; a refused request consumes no quota anywhere.
"""

from __future__ import annotations

import math
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jeex_cache import RateLimitConfig
from jeex_cache.rate_limit.policy import RateLimitPolicy
from jeex_cache.rate_limit.service import RateLimitingService
from tests.contract.conftest import MillisecondClock
from tests.contract.rate_limit_oracle import SlidingLog, max_in_any_window

SHARED_FIXTURES = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
# Windows of a minute or more: a Redis log key expires on the server's real clock one window
# after its last admission, which must not happen while a test drives its own clock.
WINDOW_SECONDS = [60, 90, 300, 3600]


@st.composite
def policies(draw: st.DrawFn) -> RateLimitPolicy:
    windows = draw(st.lists(st.sampled_from(WINDOW_SECONDS), min_size=1, max_size=3, unique=True))
    limits = [
        RateLimitConfig(draw(st.integers(1, 5)), window, draw(st.integers(0, 2)))
        for window in windows
    ]
    return RateLimitPolicy(tuple(limits), draw(st.sampled_from([None, "api"])))


@st.composite
def gaps(draw: st.DrawFn, policy: RateLimitPolicy) -> list[int]:
    """Gaps between requests in ms: bunches within a millisecond, random spreads, and simple
    fractions of the policy's windows, whose sums land exactly on a window's edge (and a
    millisecond either side), where off-by-ones live."""
    lengths = [config.window_seconds * 1000 for config in policy.limits]
    edges = st.sampled_from(sorted({p for w in lengths for p in (w // 4, w // 2, w - 1, w, w + 1)}))
    gap = st.one_of(
        st.just(0), edges, edges, st.just(1), st.integers(1, 3_000), st.integers(1, 200_000)
    )
    return draw(st.lists(gap, min_size=1, max_size=40))


@settings(SHARED_FIXTURES, max_examples=200)
@given(data=st.data())
async def test_every_decision_is_the_sliding_logs(
    limiter: RateLimitingService, ms_clock: MillisecondClock, data: st.DataObject
) -> None:
    policy = data.draw(policies(), "policy")
    steps = data.draw(gaps(policy), "gaps")
    oracle, user, admitted = SlidingLog(policy), uuid4().hex, []
    for gap in steps:
        ms_clock.ms += gap
        result = await limiter.check(user, "user", policy)
        expected = oracle.check(ms_clock.ms)
        assert result.allowed == expected.allowed
        assert result.retry_after == expected.retry_ms / 1000
        windows = result.windows
        assert tuple(w.count for w in windows) == expected.counts
        assert tuple(round(w.reset_seconds * 1000) for w in windows) == expected.resets_ms
        assert result.remaining == min(w.remaining for w in windows)
        assert result.reset_seconds >= 0
        assert result.retry_after >= 0
        if result.allowed:
            admitted.append(ms_clock.ms)
    # Guarantee 1, stated directly: no interval of a window's length holds more than its limit.
    for config in policy.limits:
        assert max_in_any_window(admitted, config.window_seconds * 1000) <= config.limit


@SHARED_FIXTURES
@given(
    requests=st.integers(1, 12),
    window=st.sampled_from(WINDOW_SECONDS),
    burst=st.integers(0, 3),
    slack_ms=st.integers(0, 2_000),
    offset_ms=st.integers(0, 10_000),
)
async def test_a_polite_client_is_never_refused(
    limiter: RateLimitingService,
    ms_clock: MillisecondClock,
    requests: int,
    window: int,
    burst: int,
    slack_ms: int,
    offset_ms: int,
) -> None:
    config = RateLimitConfig(requests, window, burst)
    period = math.ceil(window * 1000 / requests) + slack_ms  # at or below the allowed rate
    user = uuid4().hex
    ms_clock.ms += offset_ms
    for _ in range(3 * requests + 2):  # three windows' worth and more
        result = await limiter.check(user, "user", config)
        assert result.allowed, result
        ms_clock.ms += period


async def test_a_window_is_the_last_window_seconds_up_to_now(
    limiter: RateLimitingService, ms_clock: MillisecondClock
) -> None:
    """(now - window, now]: an admission exactly one window old no longer counts."""
    config = RateLimitConfig(2, 60)
    start = ms_clock.ms
    assert (await limiter.check("edge", "user", config)).allowed
    ms_clock.ms = start + 30_000
    assert (await limiter.check("edge", "user", config)).allowed
    ms_clock.ms = start + 59_999
    refused = await limiter.check("edge", "user", config)
    assert (refused.allowed, refused.retry_after) == (False, 0.001)
    ms_clock.ms = start + 60_000
    assert (await limiter.check("edge", "user", config)).allowed


async def test_a_polite_client_of_a_multi_window_policy_is_never_refused(
    limiter: RateLimitingService, ms_clock: MillisecondClock
) -> None:
    policy = RateLimitPolicy.per(minute=4, hour=30)
    period = max(60_000 // 4, 3_600_000 // 30)
    for _ in range(70):
        assert (await limiter.check("steady", "user", policy)).allowed
        ms_clock.ms += period


async def test_a_refused_request_consumes_no_quota_in_any_window(
    limiter: RateLimitingService, ms_clock: MillisecondClock
) -> None:
    policy = RateLimitPolicy.per(minute=3, hour=5, day=6)
    results = [await limiter.check("alice", "user", policy) for _ in range(3)]
    assert all(r.allowed for r in results)
    for _ in range(50):  # refused by the minute window: must not touch the hour or the day
        refused = await limiter.check("alice", "user", policy)
        assert not refused.allowed
        assert refused.violated == ("minute",)
    assert [w.count for w in refused.windows] == [3, 3, 3]
    ms_clock.ms += 60_000
    assert [(await limiter.check("alice", "user", policy)).allowed for _ in range(3)] == [
        True,
        True,
        False,  # the hour is full now: 5 admitted
    ]
    ms_clock.ms += 3_600_000
    last = await limiter.check("alice", "user", policy)
    assert last.allowed  # the day's sixth
    assert not (await limiter.check("alice", "user", policy)).allowed


async def test_retry_after_is_when_the_tightest_window_frees(
    limiter: RateLimitingService, ms_clock: MillisecondClock
) -> None:
    policy = RateLimitPolicy.per(minute=2, hour=3)
    await limiter.check("bob", "user", policy)
    ms_clock.ms += 10_000
    await limiter.check("bob", "user", policy)
    ms_clock.ms += 5_000
    refused = await limiter.check("bob", "user", policy)
    assert (refused.allowed, refused.retry_after, refused.reset_seconds) == (False, 45.0, 45.0)
    assert refused["reset_seconds"] == 45.0  # the spec's form
    ms_clock.ms += 45_000
    assert (await limiter.check("bob", "user", policy)).allowed  # the hour's third
    refused = await limiter.check("bob", "user", policy)
    assert refused.violated == ("minute", "hour")
    # The minute frees in 10 s, the hour only when the first admission leaves it.
    assert [w.reset_seconds for w in refused.windows] == [10.0, 3_600 - 60]
    assert refused.retry_after == 3_600 - 60


async def test_identifiers_and_scopes_do_not_share_quota(limiter: RateLimitingService) -> None:
    config = RateLimitConfig(1, 60)
    assert (await limiter.check("alice", "user", config)).allowed
    assert not (await limiter.check("alice", "user", config)).allowed
    assert (await limiter.check("bob", "user", config)).allowed
    assert (await limiter.check("alice", "tenant", config)).allowed
    assert (await limiter.check("alice", "user", RateLimitPolicy.of(config, name="x"))).allowed


async def test_a_config_and_its_one_window_policy_share_a_log(
    limiter: RateLimitingService,
) -> None:
    config = RateLimitConfig(2, 60)
    assert (await limiter.check("carol", "user", config)).allowed
    assert (await limiter.check("carol", "user", RateLimitConfig(2, 60))).allowed
    assert not (await limiter.check("carol", "user", RateLimitPolicy.of(config))).allowed


async def test_ipv6_clients_are_grouped_by_their_64(limiter: RateLimitingService) -> None:
    config = RateLimitConfig(2, 60)
    assert (await limiter.check("2001:db8:1:2::1", "ip", config)).allowed
    assert (await limiter.check("2001:DB8:1:2:ffff::9", "ip", config)).allowed
    refused = await limiter.check("[2001:db8:1:2:0:0:0:7]", "ip", config)
    assert not refused.allowed
    assert refused.windows[0].identifier == "2001-db8-1-2--_64"
    assert (await limiter.check("2001:db8:1:3::1", "ip", config)).allowed  # another /64
    assert (await limiter.check("192.0.2.1", "ip", config)).allowed
    assert (await limiter.check("::ffff:192.0.2.1", "ip", config)).allowed  # the same client
    assert not (await limiter.check("192.0.2.1", "ip", config)).allowed


async def test_limits_sharing_a_log_each_enforce_their_own(
    limiter: RateLimitingService, ms_clock: MillisecondClock
) -> None:
    """Two limits on one identifier's minute (no policy names tell them apart) count the
    same admissions; each refuses by its own limit and waits for its own share to leave."""
    loose, tight = RateLimitConfig(5, 60), RateLimitConfig(2, 60)
    start = ms_clock.ms
    for second in range(5):
        ms_clock.ms = start + second * 1000
        assert (await limiter.check("dave", "user", loose)).allowed
    ms_clock.ms = start + 10_000
    refused = await limiter.check("dave", "user", tight)
    # Four of the five must leave before fewer than two remain: the one at 3 s, at 63 s.
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 53.0)
    refused = await limiter.check("dave", "user", loose)
    assert (refused.allowed, refused.retry_after) == (False, 50.0)
