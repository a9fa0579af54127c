"""Anonymous bodies cost the server nothing: a real ``jeex-cache serve`` under 64 concurrent
1 MiB ``PUT``s of ``[],[],...`` keeps its memory and still answers ``/health``.

Each body is just under the request-body limit (``CACHE_MAX_PAYLOAD_BYTES`` + 64 KiB), so
only the credential check before the body read keeps it out of the parser, where each one
became some 24 MB of Python lists. The figures (resident memory before and the peak after)
are printed: ``pytest tests/web/test_hostile_bodies.py -s``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import uuid4

import httpx

from jeex_cache import Settings
from tests.web._process import backend_variables, serving

ATTACKERS = 64
BODY = b'{"data":[' + b"[]," * 370_000 + b"[]]}"  # 1.06 MiB, under the 1.06 MiB limit
MAX_GROWTH = 96 * 1_048_576  # before the fix: over 1 GiB
HEALTH_DEADLINE = 2.0  # seconds; /health idles at a few ms
WAIT = 60.0


async def _attack(url: str) -> list[int | str]:
    """``ATTACKERS`` concurrent anonymous PUTs; each one's status (or transport error)."""
    limits = httpx.Limits(max_connections=ATTACKERS)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=WAIT) as http:

        async def put() -> int | str:
            try:
                response = await http.put(
                    f"/projects/{uuid4()}/cache", content=BODY, headers=headers
                )
            except httpx.TransportError as exc:  # the server may answer before the body is sent
                return type(exc).__name__
            return response.status_code

        return list(await asyncio.gather(*(put() for _ in range(ATTACKERS))))


async def _health_while(attack: asyncio.Task[list[int | str]], url: str) -> list[float]:
    """``GET /health`` over and over while ``attack`` runs: each answer's time."""
    times: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        while not attack.done() or not times:
            started = time.monotonic()
            response = await http.get("/health")
            times.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.05)
    return times


async def test_anonymous_bodies_neither_grow_the_server_nor_stall_health(
    tmp_path: Path, settings: Settings
) -> None:
    variables = {**backend_variables(settings), "RATE_LIMIT_DEFAULT_REQUESTS": "100000"}
    with serving(tmp_path, **variables) as served:
        before = served.rss_bytes()
        async with asyncio.timeout(WAIT):
            attack = asyncio.create_task(_attack(served.url))
            health = await _health_while(attack, served.url)
            statuses = await attack
        peak = served.peak_rss_bytes()
    growth = peak - before
    print(
        f"\n{settings.backend}: RSS before {before / 1_048_576:.0f} MiB, peak after "
        f"{peak / 1_048_576:.0f} MiB (+{growth / 1_048_576:.0f} MiB); "
        f"/health slowest {max(health):.3f} s of {len(health)}; "
        f"statuses {sorted(set(statuses), key=str)}"
    )
    assert all(
        status in (401, "WriteError", "ReadError", "RemoteProtocolError") for status in statuses
    )
    assert statuses.count(401) >= ATTACKERS // 2
    assert growth < MAX_GROWTH
    assert max(health) < HEALTH_DEADLINE
