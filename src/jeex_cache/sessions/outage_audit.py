"""Denials caused by an outage, audited per interval rather than one record per request.

While the session store is down every access check is denied (fail closed), and one audit
record per request buried the few lines that said what happened (about 870 in 7 s in a
drill). The first denial of an interval is audited in full, as before; the others of that
event are counted, and one record with their ``count`` closes the interval.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["OUTAGE_AUDIT_INTERVAL", "OutageAudit"]

OUTAGE_AUDIT_INTERVAL = 10.0
"""Seconds over which the denials of one event during an outage are counted together."""

Record = Callable[..., None]  # audit(event, fingerprint, user_id, **fields)


class OutageAudit:
    """Per event: the first ``unavailable`` denial at once, then a count per interval."""

    def __init__(self, record: Record, interval: float = OUTAGE_AUDIT_INTERVAL) -> None:
        self._record = record
        self.interval = interval
        self._counted: Counter[str] = Counter()
        self._open: set[str] = set()

    def denied(self, event: str, fingerprint: str | None, **fields: Any) -> None:
        """A denial of ``event`` because the backend is unavailable."""
        if event in self._open:
            self._counted[event] += 1
            return
        self._record(event, fingerprint, None, reason="unavailable", **fields)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to close the interval: every denial is a record
            return
        self._open.add(event)
        loop.call_later(self.interval, self._close, event)

    def _close(self, event: str) -> None:
        self._open.discard(event)
        count = self._counted.pop(event, 0)
        if count:
            self._record(
                event, None, None, reason="unavailable", count=count,
                interval_seconds=self.interval,
            )  # fmt: skip
