"""The circuit breaker's state machine, on a hand-moved monotonic clock."""

from __future__ import annotations

import pytest

from jeex_cache.core.circuit_breaker import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def breaker(ticks: Ticks) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_timeout=5.0, monotonic=ticks)


def test_opens_after_consecutive_failures_only(breaker: CircuitBreaker) -> None:
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the run
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state.value == "closed"
    breaker.record_failure()
    assert breaker.state.value == "open"
    assert breaker.transitions["open"] == 1


def test_open_breaker_fails_fast_until_the_cool_down(breaker: CircuitBreaker, ticks: Ticks) -> None:
    for _ in range(3):
        breaker.record_failure()
    ticks.now += 4.9
    with pytest.raises(CircuitOpenError, match="next probe"):
        breaker.before_call()
    ticks.now += 0.2
    breaker.before_call()  # the probe goes out
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpenError, match="probe is in flight"):
        breaker.before_call()


def test_successful_probe_closes(breaker: CircuitBreaker, ticks: Ticks) -> None:
    for _ in range(3):
        breaker.record_failure()
    ticks.now += 5
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    breaker.before_call()
    breaker.before_call()  # closed: every call goes through
    assert dict(breaker.transitions) == {"open": 1, "half_open": 1, "closed": 1}


def test_failed_probe_opens_again_for_a_full_cool_down(
    breaker: CircuitBreaker, ticks: Ticks
) -> None:
    for _ in range(3):
        breaker.record_failure()
    ticks.now += 5
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    ticks.now += 4
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_a_probe_that_says_nothing_frees_the_slot(breaker: CircuitBreaker, ticks: Ticks) -> None:
    for _ in range(3):
        breaker.record_failure()
    ticks.now += 5
    breaker.before_call()
    breaker.release_probe()
    breaker.before_call()  # another probe may go
    assert breaker.state is CircuitState.HALF_OPEN


def test_open_error_is_a_backend_error() -> None:
    from jeex_cache.core.errors import BackendError

    assert issubclass(CircuitOpenError, BackendError)


def test_each_node_has_its_own_breaker(breaker: CircuitBreaker, ticks: Ticks) -> None:
    dead, alive = breaker.for_node("10.0.0.1:7000"), breaker.for_node("10.0.0.2:7000")
    assert breaker.for_node("10.0.0.1:7000") is dead
    for _ in range(3):
        dead.record_failure()
    assert dead.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError):
        dead.before_call()
    alive.before_call()  # another node's calls go through
    assert alive.state is CircuitState.CLOSED
    assert breaker.state is CircuitState.CLOSED
    assert set(breaker.nodes) == {"10.0.0.1:7000", "10.0.0.2:7000"}
