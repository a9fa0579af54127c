"""``jeex-cache warm``: the project cache filled by ``warm_project_cache`` from a loader."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import pytest

from jeex_cache import CacheManager
from tests.cli.conftest import Cli

ID = str(uuid4())
LOADER = """
async def load(project_id):
    if str(project_id).endswith("0bad"):
        raise RuntimeError("no such project upstream")
    return {"name": f"project {project_id}"}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder holding the loader module ``myloader``, the command's working directory."""
    (tmp_path / "myloader.py").write_text(LOADER)
    return tmp_path


async def test_warm_loads_the_projects_of_args_and_file(
    cli: Cli, redis_manager: CacheManager, workdir: Path
) -> None:
    ids = [str(uuid4()) for _ in range(5)]
    (workdir / "projects.txt").write_text("# to warm\n" + "\n".join(ids[2:]) + "\n\n")
    ran = await asyncio.to_thread(
        cli, "warm", "--loader", "myloader:load", ids[0], ids[1],
        "--from-file", "projects.txt", "--concurrency", "2", "--json", cwd=workdir,
    )  # fmt: skip
    assert ran.status == 0, ran.err
    assert json.loads(ran.out)["loaded"] == 5
    for project_id in ids:
        assert await redis_manager.get_project_data(project_id) == {"name": f"project {project_id}"}


async def test_a_failing_project_is_exit_1(
    cli: Cli, redis_manager: CacheManager, workdir: Path
) -> None:
    good, bad = str(uuid4()), str(uuid4())[:-4] + "0bad"
    ran = await asyncio.to_thread(
        cli, "warm", "--loader", "myloader:load", good, bad, "--json", cwd=workdir
    )
    assert ran.status == 1, ran.err
    summary = json.loads(ran.out)
    assert (summary["loaded"], summary["failed"]) == (1, 1)
    assert await redis_manager.get_project_data(good) == {"name": f"project {good}"}


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--loader", "myloader"], "a loader is 'module:function'"),
        (["--loader", "nowhere:load", ID], "cannot import loader 'nowhere:load'"),
        (["--loader", "myloader:missing", ID], "cannot import loader 'myloader:missing'"),
        (["--loader", "myloader:load"], "no project IDs"),
        (["--loader", "myloader:load", "not/an-id"], "project ID must be a UUID or"),
        (["--loader", "myloader:load", "--from-file", "absent.txt"], "--from-file: "),
        (["--loader", "myloader:load", ID, "--concurrency", "0"], "--concurrency"),
    ],
)
def test_usage_errors_are_one_line_and_status_2(
    cli: Cli, workdir: Path, argv: list[str], error: str
) -> None:
    ran = cli("warm", *argv, cwd=workdir)
    assert ran.status == 2
    assert ran.err.startswith(f"jeex-cache: {error}")
    assert ran.err.count("\n") == 1
