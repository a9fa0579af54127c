"""A project's rate holds across three ``jeex-cache worker`` processes: the pace lives in the
claim script, so however the processes race, no window of time sees more starts than the
rate allows, and every task still runs.

The windows are counted on the task records' start times, which the claim script stamps
with the server's clock, the clock it paces by: the bound is exact on any machine, and
nothing is assumed about how fast the workers are.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

from jeex_cache import CacheManager, Settings, TaskStatus
from jeex_cache.testing import RedisServer
from tests.conftest import eventually
from tests.faults._rate_settings import BURST, QUEUE, RATE
from tests.faults.test_worker_kill import ROOT, assert_stop_cleanly, kill_left, patient, server

__all__ = ["server"]  # the fixture, imported for this module's tests

TASKS = 60
WORKERS = 3


def start_workers(url: str, logs: Path) -> list[subprocess.Popen[bytes]]:
    """``jeex-cache worker tests.faults._rate_settings:settings`` processes."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["REDIS_URL"] = url
    env["JEEX_REDIS_CONNECT_TIMEOUT"] = "10"  # a busy machine may take a while to accept
    command = [sys.executable, "-m", "jeex_cache.cli", "worker",
               "tests.faults._rate_settings:settings"]  # fmt: skip
    workers = []
    for n in range(WORKERS):
        with (logs / f"worker-{n}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
    return workers


def assert_paced(starts_ms: list[int]) -> None:
    """No span of time between two starts holds more starts than the burst plus the rate
    over that span (one more for the millisecond rounding of the stamps)."""
    starts = sorted(starts_ms)
    for first in range(len(starts)):
        for last in range(first, len(starts)):
            span = (starts[last] - starts[first]) / 1000
            count = last - first + 1
            assert count <= BURST + span * RATE + 1, (count, span, starts[first])


def test_a_rate_holds_across_three_worker_processes(server: RedisServer, tmp_path: Path) -> None:
    async def enqueue() -> list[str]:
        project = uuid4()
        async with CacheManager(patient(server.url)) as cache:
            return [
                await cache.enqueue_task(QUEUE, "tick", project_id=project) for _ in range(TASKS)
            ]

    ids = asyncio.run(enqueue())
    workers = start_workers(server.url, tmp_path)

    async def finished() -> list[int]:
        async with CacheManager(patient(server.url)) as cache:

            async def done() -> bool:
                tasks = await asyncio.gather(*(cache.get_task_status(i) for i in ids))
                return all(t is not None and t.status is TaskStatus.SUCCEEDED for t in tasks)

            await eventually(done, timeout=120)
            tasks = await asyncio.gather(*(cache.get_task_status(i) for i in ids))
        starts = []
        for task in tasks:
            assert task is not None
            assert task.started_at is not None
            starts.append(round(task.started_at.timestamp() * 1000))
        return starts

    def started() -> bool:  # a SIGTERM before its handler is installed would kill it
        return all(b"takes tick" in log.read_bytes() for log in tmp_path.glob("*.log"))

    try:
        starts = asyncio.run(finished())
        asyncio.run(eventually(started, timeout=120))
        assert_stop_cleanly(workers, tmp_path)
    finally:
        kill_left(workers)
    assert len(starts) == TASKS
    assert_paced(starts)
