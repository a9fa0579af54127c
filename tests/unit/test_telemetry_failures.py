"""Telemetry: failed calls stay out of the latency histogram; reading the error rate resets
nothing another reader sees."""

from __future__ import annotations

from jeex_cache.core.telemetry import Telemetry


def test_failed_calls_stay_out_of_the_latency_histogram() -> None:
    telemetry = Telemetry(buffer_size=10, slow_threshold_ms=10.0)
    telemetry.stats("get", "cache_read").observe(0.002)
    for _ in range(50):
        telemetry.failed("get", "cache_read", 0.000001)  # a breaker failing fast
    summary = telemetry.snapshot()["operations"]["get"]
    assert (summary["count"], summary["errors"]) == (50, 50)
    assert sum(summary["histogram"]["counts"]) == 1
    assert summary["latency_ms"]["p50"] == 2.0


def test_reading_the_error_rate_resets_nothing() -> None:
    telemetry = Telemetry(buffer_size=10, slow_threshold_ms=10.0)
    stats = telemetry.stats("get", "cache_read")
    stats.count += 3
    telemetry.failed("get", "cache_read", 0.1)
    rates = [telemetry.recent_error_rate(60.0) for _ in range(3)]  # three readers
    assert rates == [0.25, 0.25, 0.25]
