"""Multi-process metrics: processes with ``PROMETHEUS_MULTIPROC_DIR`` add up in one scrape.

prometheus-client picks its multi-process storage when it is imported, so each process here
is a fresh interpreter: two do reads and exit (their lifespan flushes the mirror), a third
serves ``/metrics`` and prints it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from jeex_cache import Settings

PROCESS = """
import asyncio, sys
from uuid import uuid4
import httpx
from jeex_cache import Settings
from jeex_cache.web import create_app

async def main(reads: int) -> None:
    app = create_app(Settings(redis_url=None))
    async with app.router.lifespan_context(app):
        for _ in range(reads):
            await app.state.jeex_manager.get_project_data(uuid4())
        if reads == 0:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                print((await client.get("/metrics")).text)

asyncio.run(main(int(sys.argv[1])))
"""


def run(reads: int, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, str(reads)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_add_up_in_one_scrape(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    run(3, env)
    run(4, env)
    text = run(0, env)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    read = (("family", "cache_read"), ("operation", "get_project_data"))
    assert samples[("jeex_cache_operations_total", read)] == 7
    assert samples[("jeex_cache_operation_duration_seconds_count", read)] == 7
    inf = tuple(sorted((*read, ("le", "+Inf"))))
    assert samples[("jeex_cache_operation_duration_seconds_bucket", inf)] == 7
    miss = tuple(sorted((*read, ("result", "miss"))))
    assert samples[("jeex_cache_lookups_total", miss)] == 7
