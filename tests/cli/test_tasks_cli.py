"""``jeex-cache tasks stats|dead|requeue QUEUE`` against a real redis-server."""

from __future__ import annotations

import asyncio
import json

from jeex_cache import CacheManager, TaskStatus
from jeex_cache.testing import RedisServer, free_port
from tests.cli.conftest import Cli, run_cli

QUEUE = "emails"


async def bury(manager: CacheManager, error: str) -> str:
    """A task of ``QUEUE`` that failed its only attempt: dead."""
    task_id = await manager.enqueue_task(QUEUE, "send", {"to": "a@example.com"}, max_attempts=1)
    claim = await manager.claim_task(QUEUE, "w-test", 30.0)
    assert claim.delivery is not None
    assert await manager.fail_task(claim.delivery, error, 0.0) is TaskStatus.DEAD
    return task_id


async def test_stats_counts_pending_running_and_dead(cli: Cli, redis_manager: CacheManager) -> None:
    await bury(redis_manager, "boom")
    await redis_manager.enqueue_task(QUEUE, "send", delay=3600)
    await redis_manager.enqueue_task(QUEUE, "send")
    claim = await redis_manager.claim_task(QUEUE, "w-test", 30.0)
    assert claim.delivery is not None

    ran = await asyncio.to_thread(cli, "tasks", "stats", QUEUE, "--json")
    assert ran.status == 0, ran.err
    assert json.loads(ran.out) == {"queue": QUEUE, "pending": 1, "running": 1, "dead": 1}

    table = await asyncio.to_thread(cli, "tasks", "stats", QUEUE, "--running", "5")
    assert table.status == 0, table.err
    [row] = [line for line in table.out.splitlines() if f" {QUEUE} " in line]
    assert row.split("│")[1:5] == [f" {QUEUE} ", " 1       ", " 1       ", " 1    "]
    assert table.out.splitlines()[-1] == f"running: {claim.delivery.task_id}"


async def test_dead_lists_the_dead_letters(cli: Cli, redis_manager: CacheManager) -> None:
    first = await bury(redis_manager, "SMTP said [550] no")
    await asyncio.sleep(0.01)  # a later millisecond: oldest first, and a tie has no order
    second = await bury(redis_manager, "timeout")

    ran = await asyncio.to_thread(cli, "tasks", "dead", QUEUE, "--json")
    assert ran.status == 0, ran.err
    listed = json.loads(ran.out)
    assert [(t["task_id"], t["status"], t["error"]) for t in listed] == [
        (first, "dead", "SMTP said [550] no"),
        (second, "dead", "timeout"),
    ]
    assert listed[0]["payload"] == {"to": "a@example.com"}

    table = await asyncio.to_thread(cli, "tasks", "dead", QUEUE)
    assert table.status == 0, table.err
    assert first in table.out
    assert "SMTP said [550] no" in table.out  # user text, not rich markup
    assert table.out.rstrip().endswith(f"2 dead task(s) in {QUEUE}")


async def test_requeue_by_id_then_all(cli: Cli, redis_manager: CacheManager) -> None:
    first = await bury(redis_manager, "boom")
    await bury(redis_manager, "boom")
    await bury(redis_manager, "boom")

    ran = await asyncio.to_thread(cli, "tasks", "requeue", QUEUE, first, "--json")
    assert ran.status == 0, ran.err
    assert json.loads(ran.out) == {"queue": QUEUE, "requeued": 1}
    task = await redis_manager.get_task_status(first)
    assert task is not None
    assert task.status is TaskStatus.QUEUED

    ran = await asyncio.to_thread(cli, "tasks", "requeue", QUEUE, "--all")
    assert ran.status == 0, ran.err
    assert ran.out == f"requeued 2 task(s) on {QUEUE}\n"
    stats = await redis_manager.get_queue_stats(QUEUE)
    assert (stats.pending, stats.running, stats.dead) == (3, 0, 0)


def test_requeue_needs_ids_or_all(cli: Cli) -> None:
    ran = cli("tasks", "requeue", QUEUE)
    assert ran.status == 2
    assert "one of the arguments ID --all is required" in ran.err


def test_a_bad_queue_name_is_one_line_on_stderr(cli: Cli) -> None:
    ran = cli("tasks", "stats", "no spaces")
    assert ran.status == 2
    assert ran.out == ""
    assert ran.err.startswith("jeex-cache: ")
    assert ran.err.count("\n") == 1


def test_an_unreachable_redis_is_exit_4_without_a_traceback() -> None:
    ran = run_cli("tasks", "stats", QUEUE, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert ran.status == 4
    assert ran.err.startswith("jeex-cache: the backend did not answer: ")
    assert ran.err.count("\n") == 1  # the library's warnings stay quiet: one line, no traceback


def test_a_refused_password_is_exit_4_in_one_line() -> None:
    with RedisServer.start("--requirepass", "right") as server:
        url = f"redis://:wrong@127.0.0.1:{server.port}/0"
        ran = run_cli("tasks", "stats", QUEUE, redis_url=url)
    assert ran.status == 4, ran.err
    assert ran.err.startswith("jeex-cache: the backend did not answer: ")
    assert "Traceback" not in ran.err
    assert ran.err.count("\n") == 1
    assert "wrong" not in ran.err  # the password never printed


async def test_dead_shows_control_characters_escaped(cli: Cli, redis_manager: CacheManager) -> None:
    await bury(redis_manager, "\x1b[2J\x1b]8;;http://evil\x07click\x1b]8;;\x07")
    table = await asyncio.to_thread(cli, "tasks", "dead", QUEUE)
    assert table.status == 0, table.err
    assert "\x1b" not in table.out
    assert "\x07" not in table.out
    assert "\\x1b[2J" in table.out
