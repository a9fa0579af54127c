"""Outage denials are audited per interval: the first at once, then one count per interval."""

from __future__ import annotations

import asyncio
from typing import Any

from jeex_cache.sessions.outage_audit import OutageAudit


async def test_denials_of_an_outage_are_counted_per_interval() -> None:
    records: list[tuple[str, str | None, dict[str, Any]]] = []

    def record(event: str, fingerprint: str | None, user: object, **fields: Any) -> None:
        records.append((event, fingerprint, fields))

    outage = OutageAudit(record, interval=0.2)
    for _ in range(500):
        outage.denied("session.access_denied", "abc123", project_id="p")
    outage.denied("session.validate_failed", "def456")
    assert len(records) == 2  # the first of each event, in full
    assert records[0] == ("session.access_denied", "abc123",
                          {"reason": "unavailable", "project_id": "p"})  # fmt: skip
    await asyncio.sleep(0.3)
    assert records[2:] == [
        ("session.access_denied", None,
         {"reason": "unavailable", "count": 499, "interval_seconds": 0.2}),
    ]  # fmt: skip
    outage.denied("session.access_denied", "abc123", project_id="p")  # a new interval
    assert len(records) == 4
    assert records[3][1] == "abc123"
