"""The pytest plugin, as a user's suite sees it: a test file run by pytest with the plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fastapi_integration.conftest import plugin_pytest_command

USER_TESTS = """
from uuid import uuid4

import httpx
from fastapi import FastAPI

from jeex_cache.fastapi import install, lifespan
from jeex_cache.fastapi.testclient import app_client


async def test_the_manager_is_open_and_on_the_clock(jeex_manager, jeex_clock):
    project = uuid4()
    await jeex_manager.cache_project_data(project, {"a": 1}, 60)
    assert await jeex_manager.get_project_data(project) == {"a": 1}
    jeex_clock.advance(61)
    assert await jeex_manager.get_project_data(project) is None


async def test_an_app_in_its_lifespan(jeex_manager):
    app = FastAPI(lifespan=lifespan(jeex_manager))
    install(app, jeex_manager)

    @app.get("/")
    async def root():
        return {"backend": jeex_manager.backend_name}

    async with app_client(app) as client:
        assert (await client.get("/")).json() == {"backend": "memory"}


def test_a_real_redis(redis_server):
    assert redis_server.url.startswith("redis://127.0.0.1:")
"""


def run_user_suite(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    command = [*plugin_pytest_command(), "-o", "asyncio_mode=auto", str(tmp_path)]
    return subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, env={**os.environ, **env},
        timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["memory"])
def test_the_fixtures_work_in_a_users_suite(tmp_path: Path, backend: str) -> None:
    result = run_user_suite(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.parametrize("backend", ["memory"])
def test_redis_server_is_skipped_with_a_reason_without_the_binary(
    tmp_path: Path, backend: str
) -> None:
    result = run_user_suite(tmp_path, REDIS_SERVER_BIN="", PATH=os.path.dirname(sys.executable))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 1 skipped" in result.stdout
    assert "redis-server is not installed" in result.stdout
