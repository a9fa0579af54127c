"""The command line, run as users run it: ``python -m jeex_cache.cli ...`` in a child process
with a clean environment (no settings but the ones a test gives), against real redis-servers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from jeex_cache import CacheManager, Settings

COMMAND = (sys.executable, "-m", "jeex_cache.cli")
TIMEOUT = 60.0  # seconds a command may take on a loaded machine before the test gives up


@dataclass(frozen=True)
class Ran:
    """A finished command: exit status and what it printed."""

    status: int
    out: str
    err: str


def environment(redis_url: str | None, **extra: str) -> dict[str, str]:
    """The test process's environment without jeex-cache settings, plus ``REDIS_URL``."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["COLUMNS"] = "200"  # rich tables at full width
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


Cli = Callable[..., Ran]


def run_cli(*args: str, redis_url: str | None, cwd: Path | None = None, stdin: str = "") -> Ran:
    """Run ``jeex-cache args...`` to its end."""
    done = subprocess.run(
        [*COMMAND, *args],
        env=environment(redis_url),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(redis_url: str) -> Cli:
    """``cli(*args)``: the command against the session's (flushed) redis-server."""

    def run(*args: str, **options: object) -> Ran:
        return run_cli(*args, redis_url=redis_url, **options)  # type: ignore[arg-type]

    return run


@pytest.fixture
async def redis_manager(redis_url: str) -> AsyncIterator[CacheManager]:
    """A manager on the same server, to set up what the command will see."""
    async with CacheManager(Settings(redis_url=redis_url)) as manager:
        yield manager


async def start_cli(*args: str, redis_url: str) -> asyncio.subprocess.Process:
    """Start ``jeex-cache args...`` with its output piped, for a test to follow."""
    return await asyncio.create_subprocess_exec(
        *COMMAND, *args, env=environment(redis_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
