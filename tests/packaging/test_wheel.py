"""The package as users get it: the wheel and the sdist build, pass ``twine check``, and the
wheel works in a clean environment with the core dependencies alone (no extra).

Slow-ish (a build and a venv, some seconds each), so it runs once per session, on the same
artifacts for every check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jeex_cache.testing import RedisServer

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "jeex_cache"
UV = str(Path(sys.executable).with_name("uv"))
EXTRA_MODULES = ("fastapi", "starlette", "sse_starlette", "prometheus_client", "uvicorn", "rich")


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(UV, "build", "--quiet", "--out-dir", str(out))
    return out


@pytest.fixture(scope="module")
def core_python(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A clean venv holding the wheel and the core dependencies only, at the locked versions."""
    home = tmp_path_factory.mktemp("core-venv")
    venv = home / "venv"
    constraints = home / "constraints.txt"
    constraints.write_text(
        _run(UV, "export", "--frozen", "--no-hashes", "--no-emit-project", "--all-extras")
    )
    _run(UV, "venv", "--quiet", "--python", sys.executable, str(venv))
    python = str(venv / "bin" / "python")
    wheel = next(dist.glob("*.whl"))
    _run(UV, "pip", "install", "--quiet", "--python", python, "-c", str(constraints), str(wheel))
    return python


def _core_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "JEEX_"))}
    env.update(extra)
    return env


def test_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    artifacts = [*dist.glob("*.whl"), *dist.glob("*.tar.gz")]
    assert len(artifacts) == 2, artifacts
    _run(str(Path(sys.executable).with_name("twine")), "check", "--strict", *map(str, artifacts))


def test_the_wheel_carries_the_scripts_the_pages_and_the_type_marker(dist: Path) -> None:
    names = set(zipfile.ZipFile(next(dist.glob("*.whl"))).namelist())
    expected = {
        str(path.relative_to(PACKAGE.parent))
        for pattern in ("*/lua/*.lua", "web/static/*", "py.typed")
        for path in PACKAGE.glob(pattern)
    }
    assert len([n for n in expected if n.endswith(".lua")]) >= 10
    assert any("/static/" in n for n in expected)
    assert expected <= names, sorted(expected - names)


def test_the_core_install_has_no_extra(core_python: str) -> None:
    code = f"import importlib.util as u; print([m for m in {EXTRA_MODULES!r} if u.find_spec(m)])"
    assert _run(core_python, "-c", code, env=_core_env()).strip() == "[]"


def test_the_readme_first_example_runs_on_memory_with_core_only(core_python: str) -> None:
    example = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert example is not None
    body = "\n".join("    " + line for line in example.group(1).splitlines())
    script = (
        "import asyncio, sys\n"
        f"async def main():\n{body}\n"
        "    assert cached_data == data, cached_data\n"
        "    assert invalidated_count == 1\n"
        "    await cache_manager.close()\n"
        "asyncio.run(main())\n"
        "from jeex_cache import CacheManager, Worker\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {EXTRA_MODULES!r})\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    assert _run(core_python, "-c", script, env=_core_env()).strip() == "ok"


def test_a_lua_backed_call_runs_on_redis_with_core_only(
    core_python: str, redis_server: RedisServer
) -> None:
    script = """
import asyncio
from uuid import uuid4
from jeex_cache import CacheManager, RateLimitConfig, Settings

async def main():
    async with CacheManager(Settings()) as cache:
        assert cache.backend_name != "memory", cache.backend_name
        pid = uuid4()
        assert await cache.cache_project_data(pid, {"x": 1.5, "n": None}, tags=["t"])
        assert await cache.get_project_data(pid) == {"x": 1.5, "n": None}
        result = await cache.check_rate_limit("u", "user", RateLimitConfig(1, 60))
        assert result.allowed and result.remaining == 0
        assert await cache.invalidate_by_tag("t") == 1
asyncio.run(main())
print("ok")
"""
    env = _core_env(REDIS_URL=redis_server.url)
    assert _run(core_python, "-c", script, env=env).strip() == "ok"


def test_a_missing_extra_is_one_line_that_names_it(core_python: str) -> None:
    cli = str(Path(core_python).with_name("jeex-cache"))
    done = subprocess.run(
        [cli, "health"], env=_core_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "jeex-cache: the jeex-cache command needs the 'server' extra "
        "(fastapi is not installed): pip install 'jeex-cache[server]'"
    ]
    assert _run(cli, "--version", env=_core_env()).startswith("jeex-cache ")
    code = "import jeex_cache.web"
    done = subprocess.run(
        [core_python, "-c", code], env=_core_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "jeex_cache.extras.MissingExtraError: the reference service (jeex_cache.web) needs the "
        "'server' extra (fastapi is not installed): pip install 'jeex-cache[server]'"
    )
