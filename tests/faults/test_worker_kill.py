"""At-least-once delivery across worker processes, one of them killed with SIGKILL mid-task.

1,000 tasks go to four ``jeex-cache worker`` processes. One is frozen while it holds a task
and killed. Every task must end ``succeeded``; exactly the tasks the killed worker held are
delivered again, once each (and counted on their status), and only those may have run twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from jeex_cache import CacheManager, Settings, Task, TaskStatus
from jeex_cache.testing import RedisServer
from tests.faults._task_handlers import EXECUTIONS

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "kill"
TASKS = 1_000
WORKERS = 4
VISIBILITY = 3.0  # seconds; a healthy worker renews its lease every second
WORK = 0.01  # seconds each task takes, so a worker is nearly always inside a handler

# Every running delivery with the worker that holds it.
# The running deliveries whose handler worker ARGV[1] (a pid) started: its execution entry
# ``task|pid|attempt`` (see ``_task_handlers``) names the delivery's attempt.
HOLDERS = """
local started = {}
for _, entry in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  started[entry] = true
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local attempt = redis.call('HGET', KEYS[2], id .. '|a') or ''
  if started[id .. '|' .. ARGV[1] .. '|' .. attempt] then
    out[#out + 1] = id
  end
end
return out
"""


def holders(raw: redis.Redis, pid: int) -> set[str]:
    """The task IDs whose running delivery the worker process ``pid`` started."""
    running, records = f"jeex:queue:{{{QUEUE}}}:running", f"jeex:queue:{{{QUEUE}}}:rec"
    reply: list[bytes] = raw.eval(HOLDERS, 3, running, records, EXECUTIONS, pid)
    return {task_id.decode() for task_id in reply}


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer.start() as own:
        yield own


def start_workers(
    url: str,
    logs: Path,
    extra: dict[str, str] | None = None,
    concurrency: int = 1,
    count: int | None = None,
    first: int = 0,
) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(extra or {})
    env["REDIS_URL"] = url
    env["REDIS_CONNECT_TIMEOUT"] = "10"  # a busy machine may take a while to accept
    command = [
        sys.executable, "-m", "jeex_cache.cli", "worker", "--queue", QUEUE,
        "--handlers", "tests.faults._task_handlers:HANDLERS",
        "--visibility-timeout", str(VISIBILITY), "--shutdown-timeout", "5",
        "--concurrency", str(concurrency),
    ]  # fmt: skip
    workers = []
    for n in range(first, first + (WORKERS if count is None else count)):
        with (logs / f"worker-{n}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
    return workers


def read_logs(logs: Path) -> str:
    """The end of every worker's log."""
    return "\n".join(path.read_text(errors="replace")[-2000:] for path in logs.glob("*.log"))


def assert_stop_cleanly(workers: list[subprocess.Popen[bytes]], logs: Path) -> None:
    """SIGTERM ``workers``: each must finish its tasks and exit 0."""
    for process in workers:
        process.send_signal(signal.SIGTERM)
    codes = [process.wait(timeout=30) for process in workers]
    assert codes == [0] * len(workers), read_logs(logs)


def kill_left(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL whichever of ``workers`` still runs (a failed test's)."""
    for process in workers:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def kill_while_holding(
    victim: subprocess.Popen[bytes], raw: redis.Redis, at_least: int = 1
) -> set[str]:
    """Freeze the victim until it is caught holding ``at_least`` deliveries, then SIGKILL it.

    While frozen it sends nothing; the pause lets Redis run whatever it had already sent,
    so the running set then shows exactly what the victim held when it died.
    """
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        victim.send_signal(signal.SIGSTOP)
        time.sleep(0.05)
        held = holders(raw, victim.pid)
        if len(held) >= at_least:
            victim.kill()
            victim.wait(timeout=10)
            return held
        victim.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("the victim never held a task")


def patient(url: str) -> Settings:
    """Settings for the test's own client: 1,000 calls at once may queue a while."""
    return Settings(
        redis_url=url, redis_pool_timeout=30, redis_socket_timeout=10, redis_connect_timeout=10
    )


async def enqueue_all(url: str, work: float = WORK) -> list[str]:
    async with CacheManager(patient(url)) as cache:
        return list(
            await asyncio.gather(
                *(cache.enqueue_task(QUEUE, "record", {"work": work}) for _ in range(TASKS))
            )
        )


async def statuses(url: str, ids: list[str]) -> list[Task | None]:
    async with CacheManager(patient(url)) as cache:
        return list(await asyncio.gather(*(cache.get_task_status(i) for i in ids)))


@pytest.mark.parametrize("concurrency", [1, 8], ids=["one-task", "a-batch"])
def test_sigkilled_worker_loses_no_task(
    server: RedisServer, tmp_path: Path, concurrency: int
) -> None:
    # With 8 slots a worker claims and acknowledges in batches: the victim dies holding
    # several deliveries leased in one round trip. Tasks take longer in proportion, so the
    # run lasts as long and the victim is caught mid-run.
    ids = asyncio.run(enqueue_all(server.url, WORK * concurrency))
    raw = redis.Redis.from_url(server.url)
    workers = start_workers(server.url, tmp_path, concurrency=concurrency)
    victim, survivors = workers[0], workers[1:]
    mark = f"|{victim.pid}|".encode()

    def victim_busy() -> bool:  # it has finished tasks beyond its first claim
        entries: list[bytes] = raw.lrange(EXECUTIONS, 0, -1)  # type: ignore[assignment]
        return sum(mark in entry for entry in entries) > 2 * concurrency

    try:
        wait_for(lambda: raw.llen(EXECUTIONS) >= 100, 60, "the workers to start")
        wait_for(victim_busy, 60, "the victim to work")
        held = kill_while_holding(victim, raw, at_least=min(concurrency, 2))
        done = f"jeex:queue:{{{QUEUE}}}"
        wait_for(
            lambda: raw.zcard(done + ":prio") == 0 and raw.zcard(done + ":running") == 0,
            60,
            "every task to finish",
        )
        assert_stop_cleanly(survivors, tmp_path)
    finally:
        kill_left(workers)
    logs = read_logs(tmp_path)

    tasks = asyncio.run(statuses(server.url, ids))
    assert all(t is not None and t.status is TaskStatus.SUCCEEDED for t in tasks), logs
    reader: Any = raw  # redis-py types its synchronous replies from 8.0 on only
    entries: list[bytes] = reader.lrange(EXECUTIONS, 0, -1)
    runs = [entry.decode().split("|") for entry in entries]
    executions = Counter(task_id for task_id, _, _ in runs)
    assert set(executions) == set(ids)  # none lost
    duplicated = {task_id for task_id, count in executions.items() if count > 1}
    redelivered = {t.task_id for t in tasks if t is not None and t.redeliveries}
    # The kill forced exactly the redeliveries of what the victim held, each counted once on
    # the task's status; tasks ran twice only among those (a held task whose handler had not
    # begun when the victim died ran once).
    assert redelivered == held
    assert duplicated <= held
    assert sum(executions.values()) == TASKS + len(duplicated)
    for task in tasks:
        assert task is not None
        assert (task.attempts, task.redeliveries) == ((2, 1) if task.task_id in held else (1, 0))
    by_attempt = {(task_id, attempt): pid for task_id, pid, attempt in runs}
    for task_id in duplicated:
        assert by_attempt[task_id, "1"] == str(victim.pid) != by_attempt[task_id, "2"]
    assert str(victim.pid) in {pid for task_id, pid, _ in runs if task_id not in held}
