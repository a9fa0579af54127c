"""A circuit breaker around the backend: fail fast while it is down, probe, recover.

Closed: calls go through; ``failure_threshold`` consecutive connection-level failures open it.
Open: calls fail at once with ``CircuitOpenError`` (no network) until ``reset_timeout`` has
passed; then one call is let through as a probe (half-open). The probe's success closes the
breaker, its failure opens it again for another ``reset_timeout``.

On a cluster each master has a breaker of its own (``for_node``): a dead master fails fast
while calls to the others go through. The breaker a backend is built with is then the
registry of its nodes' breakers; on one server it is the one breaker.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from jeex_cache.core.errors import BackendError

__all__ = ["CircuitBreaker", "CircuitOpenError", "CircuitState"]

logger = logging.getLogger("jeex_cache.circuit")

INCIDENTS_KEPT = 20


class CircuitState(enum.Enum):
    """The breaker's state; the value is what health reports and metrics show."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(BackendError):
    """The circuit breaker is open: the call was not sent."""


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe."""

    def __init__(
        self,
        failure_threshold: int,
        reset_timeout: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self.transitions: Counter[str] = Counter()
        """How often the breaker entered each state (``open``, ``half_open``, ``closed``)."""
        self._monotonic = monotonic
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._outage_started = 0.0
        self.node = ""
        """The node this breaker guards (``host:port``); empty for a whole backend's."""
        self.nodes: dict[str, CircuitBreaker] = {}
        """The breaker of each node (cluster masters), by ``host:port``, made on first use."""
        self.incidents: deque[dict[str, Any]] = deque(maxlen=INCIDENTS_KEPT)
        """The last outages' starts and ends (``at`` wall time, ``node``, ``event``
        ``failed`` or ``recovered``, ``outage_seconds``), shared with the nodes' breakers."""

    def for_node(self, node: str) -> CircuitBreaker:
        """The breaker of one node (``host:port``): the same settings, its own state."""
        breaker = self.nodes.get(node)
        if breaker is None:
            breaker = CircuitBreaker(
                self.failure_threshold, self.reset_timeout, monotonic=self._monotonic
            )
            breaker.node = node
            breaker.incidents = self.incidents
            self.nodes[node] = breaker
        return breaker

    @property
    def opened_since(self) -> float | None:
        """When (monotonic) the breaker last opened, while it is not closed."""
        return None if self.state is CircuitState.CLOSED else self._opened_at

    def before_call(self) -> None:
        """Raise ``CircuitOpenError`` unless a call may go out now. Cheap when closed."""
        if self.state is CircuitState.CLOSED:
            return
        if self.state is CircuitState.OPEN:
            remaining = self._opened_at + self.reset_timeout - self._monotonic()
            if remaining > 0:
                raise CircuitOpenError(
                    f"circuit open after {self.consecutive_failures} consecutive backend "
                    f"failures; next probe in {remaining:.2f}s"
                )
            self._enter(CircuitState.HALF_OPEN)
        if self._probe_in_flight:
            raise CircuitOpenError("circuit half-open: a probe is in flight")
        self._probe_in_flight = True

    def record_success(self) -> None:
        """The backend answered."""
        self.consecutive_failures = 0
        self._probe_in_flight = False
        if self.state is not CircuitState.CLOSED:
            self._enter(CircuitState.CLOSED)

    def record_failure(self) -> None:
        """A connection-level failure (refused, reset, timed out)."""
        self.consecutive_failures += 1
        self._probe_in_flight = False
        if self.state is CircuitState.HALF_OPEN or (
            self.state is CircuitState.CLOSED
            and self.consecutive_failures >= self.failure_threshold
        ):
            self._opened_at = self._monotonic()
            self._enter(CircuitState.OPEN)

    def release_probe(self) -> None:
        """A probe ended without telling anything about the backend (e.g. cancelled)."""
        self._probe_in_flight = False

    def _enter(self, state: CircuitState) -> None:
        """Log one line when the outage starts and one when it ends (with its duration);
        the probes between are debug lines, however many the outage takes."""
        previous, self.state = self.state, state
        self.transitions[state.value] += 1
        where = f" of {self.node}" if self.node else ""
        extra = {"circuit_from": previous.value, "circuit_to": state.value, "node": self.node}
        if previous is CircuitState.CLOSED:
            self._outage_started = self._monotonic()
            self.incidents.append({"at": time.time(), "node": self.node, "event": "failed"})
            logger.warning(
                "circuit%s opened: backend failing (%d consecutive failures)",
                where, self.consecutive_failures, extra=extra,
            )  # fmt: skip
        elif state is CircuitState.CLOSED:
            outage = self._monotonic() - self._outage_started
            self.incidents.append({"at": time.time(), "node": self.node, "event": "recovered",
                                   "outage_seconds": round(outage, 3)})  # fmt: skip
            logger.warning(
                "circuit%s closed: backend recovered after a %.2fs outage",
                where, outage, extra={**extra, "outage_seconds": round(outage, 3)},
            )  # fmt: skip
        else:
            logger.debug("circuit%s %s -> %s", where, previous.value, state.value, extra=extra)
