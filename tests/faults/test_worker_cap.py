"""A per-project cap across four worker processes, one of them SIGKILLed mid-task.

``TASK_MAX_RUNNING_PER_PROJECT=2``: a bulk project's tasks never run more than two at once
across all workers (sampled from the queue's running set), the killed worker's slots come
back when its leases expire, and every task still succeeds. The victim starts first and is
frozen while it holds a delivery (so that it surely holds one, however the machine schedules
the processes); the three others start then, run beside its held leases, and it is killed.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from pathlib import Path
from uuid import uuid4

import redis

from jeex_cache import CacheManager, TaskStatus
from jeex_cache.testing import RedisServer
from tests.faults.test_worker_kill import (
    QUEUE,
    holders,
    patient,
    server,  # noqa: F401 - the fixture
    start_workers,
    wait_for,
)

CAP = 2
BULK, SMALL = str(uuid4()), str(uuid4())

# The running deliveries of each project (the cap's own view, across all workers).
RUNNING = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = redis.call('HGET', KEYS[2], id .. '|g') or ''
end
return out
"""


async def enqueue(url: str) -> list[str]:
    async with CacheManager(patient(url)) as cache:
        return [
            await cache.enqueue_task(QUEUE, "record", {"work": 0.05}, project_id=project)
            for project in [BULK] * 60 + [SMALL] * 20
        ]


async def statuses(url: str, ids: list[str]) -> list[TaskStatus | None]:
    async with CacheManager(patient(url)) as cache:
        found = [await cache.get_task_status(task_id) for task_id in ids]
    return [None if task is None else task.status for task in found]


def freeze_while_holding(victim: subprocess.Popen[bytes], raw: redis.Redis) -> None:
    """SIGSTOP the victim at a moment it holds a delivery (it stays frozen, its leases live)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        victim.send_signal(signal.SIGSTOP)
        time.sleep(0.05)
        if holders(raw, victim.pid):
            return
        victim.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("the victim never held a task")


def test_a_cap_holds_across_workers_and_survives_a_kill(
    server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ids = asyncio.run(enqueue(server.url))
    raw = redis.Redis.from_url(server.url)
    peak: dict[str, int] = {}
    sampling = threading.Event()

    def sample() -> None:
        sampler = redis.Redis.from_url(server.url)
        keys = (f"jeex:queue:{{{QUEUE}}}:running", f"jeex:queue:{{{QUEUE}}}:rec")
        while not sampling.is_set():
            groups = [g.decode() for g in sampler.eval(RUNNING, 2, *keys)]
            for group in set(groups):
                peak[group] = max(peak.get(group, 0), groups.count(group))
            time.sleep(0.005)

    thread = threading.Thread(target=sample)
    thread.start()
    cap = {"TASK_MAX_RUNNING_PER_PROJECT": str(CAP)}
    workers = start_workers(server.url, tmp_path, cap, concurrency=4, count=1)
    victim = workers[0]
    try:
        wait_for(lambda: raw.llen("test:executions") >= 1, 60, "the first worker to start")
        freeze_while_holding(victim, raw)
        survivors = start_workers(server.url, tmp_path, cap, concurrency=4, count=3, first=1)
        workers += survivors
        started = raw.llen("test:executions")
        wait_for(lambda: raw.llen("test:executions") >= started + 5, 60, "the others to run")
        victim.kill()
        victim.wait(timeout=10)
        done = f"jeex:queue:{{{QUEUE}}}"
        wait_for(
            lambda: raw.zcard(done + ":prio") == 0 and raw.zcard(done + ":running") == 0,
            90,
            "every task to finish (the killed worker's leases expire)",
        )
        for process in survivors:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=15) for process in survivors]
    finally:
        sampling.set()
        thread.join()
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert codes == [0] * len(survivors)
    assert set(asyncio.run(statuses(server.url, ids))) == {TaskStatus.SUCCEEDED}
    assert peak[BULK] == CAP  # reached, never passed, with 4 workers of concurrency 4
    assert peak[SMALL] == CAP
