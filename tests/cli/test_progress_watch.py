"""``jeex-cache progress watch ID``: follows the events live, ends with the operation."""

from __future__ import annotations

import asyncio
import json

from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer
from tests.cli.conftest import TIMEOUT, Cli, run_cli, start_cli


async def test_follows_the_events_live_and_exits_0_on_completion(
    redis_url: str, redis_manager: CacheManager
) -> None:
    assert await redis_manager.start_progress_tracking("op-live", 3, "starting")
    process = await start_cli("progress", "watch", "op-live", "--json", redis_url=redis_url)
    assert process.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), TIMEOUT))
        assert first["kind"] == "started"
        # The command is running and has read the log: what follows must come live.
        assert await redis_manager.increment_progress("op-live", "one")
        assert await redis_manager.increment_progress("op-live", "two")
        assert await redis_manager.complete_progress("op-live", "all done")
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    events = [first, *(json.loads(line) for line in out.decode().splitlines())]
    assert [e["kind"] for e in events] == ["started", "progress", "progress", "completed"]
    assert [e["current_step"] for e in events] == [0, 1, 2, 3]
    assert events[-1]["percentage"] == 100.0
    assert events[-1]["message"] == "all done"
    assert process.returncode == 0, err.decode()


async def test_the_bar_shows_each_step_and_the_final_message(
    cli: Cli, redis_manager: CacheManager
) -> None:
    await redis_manager.start_progress_tracking("op-bar", 4, "starting")
    await redis_manager.update_progress("op-bar", 2, "half [bold]way[/]")  # not rich markup
    await redis_manager.complete_progress("op-bar", "all done")

    ran = await asyncio.to_thread(cli, "progress", "watch", "op-bar")
    assert ran.status == 0, ran.err
    lines = ran.out.splitlines()
    assert any("started" in line and "0/4" in line and "starting" in line for line in lines)
    assert any("2/4" in line and "50.0%" in line and "half [bold]way[/]" in line for line in lines)
    assert "100%" in lines[-1]
    assert "all done" in lines[-1]
    assert ran.err == ""


async def test_a_failed_operation_exits_1_with_its_error_on_stderr(
    cli: Cli, redis_manager: CacheManager
) -> None:
    await redis_manager.start_progress_tracking("op-fail", 2, "starting")
    await redis_manager.increment_progress("op-fail", "one")
    await redis_manager.fail_progress("op-fail", RuntimeError("disk full"))

    ran = await asyncio.to_thread(cli, "progress", "watch", "op-fail")
    assert ran.status == 1
    assert ran.err == "jeex-cache: op-fail failed: RuntimeError: disk full\n"


async def test_an_unknown_id_is_a_clear_error(cli: Cli) -> None:
    ran = await asyncio.to_thread(cli, "progress", "watch", "op-nobody-started")
    assert ran.status == 3
    assert ran.out == ""
    assert ran.err == (
        "jeex-cache: no progress is tracked under 'op-nobody-started' (unknown or expired)\n"
    )


async def test_a_malformed_id_is_refused_in_one_line(cli: Cli) -> None:
    ran = await asyncio.to_thread(cli, "progress", "watch", "no spaces allowed")
    assert ran.status == 2
    assert ran.err.startswith("jeex-cache: ")
    assert ran.err.count("\n") == 1
    assert "Traceback" not in ran.err


def test_without_redis_url_it_says_what_to_set() -> None:
    ran = run_cli("progress", "watch", "op-1", redis_url=None)
    assert ran.status == 2
    assert "set REDIS_URL" in ran.err


async def test_losing_redis_while_watching_is_exit_4() -> None:
    with RedisServer.start() as server:
        async with CacheManager(Settings(redis_url=server.url)) as manager:
            assert await manager.start_progress_tracking("op-lost", 3, "starting")
        process = await start_cli("progress", "watch", "op-lost", "--json", redis_url=server.url)
        assert process.stdout is not None
        try:
            first = json.loads(await asyncio.wait_for(process.stdout.readline(), TIMEOUT))
            assert first["kind"] == "started"
            server.kill()
            out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert out == b""
    assert process.returncode == 4, err.decode()
    assert err.decode().startswith("jeex-cache: lost the backend while watching")


async def test_control_characters_in_messages_are_shown_escaped(
    cli: Cli, redis_manager: CacheManager
) -> None:
    await redis_manager.start_progress_tracking("op-esc", 2, "\x1b]0;pwned\x07start")
    await redis_manager.update_progress("op-esc", 1, "\x1b[2Jcleared\nforged 2/2 100.0%")
    await redis_manager.fail_progress("op-esc", "bad\x1b[31m\u202eerror")

    ran = await asyncio.to_thread(cli, "progress", "watch", "op-esc")
    assert ran.status == 1
    assert "\x1b" not in ran.out + ran.err
    assert "\u202e" not in ran.out + ran.err
    assert "\\x1b[2Jcleared\\nforged" in ran.out  # one line, the sequence as text
    assert not any(line.startswith("forged") for line in ran.out.splitlines())
    assert "bad\\x1b[31m\\u202eerror" in ran.err
