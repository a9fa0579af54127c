"""The ``jeex-cache`` command: version, configuration errors, and a real ``serve``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from jeex_cache import Settings, __version__
from jeex_cache.cli import main
from jeex_cache.testing import free_port


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"jeex-cache {__version__}\n"


def test_invalid_environment_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_MAX_CONNECTIONS", "abc")
    assert main(["serve"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "REDIS_MAX_CONNECTIONS" in captured.err
    assert "Traceback" not in captured.err
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    "argv", [[], ["serve", "--port", "http"], ["serve", "--port", "70000"], ["nope"]]
)
def test_usage_errors_are_status_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: jeex-cache" in capsys.readouterr().err


def test_serve_hands_the_app_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))

    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--log-level", "warning"]) == 0
    [(app, kwargs)] = calls
    assert isinstance(app, FastAPI)
    assert app.title == "jeex-cache reference service"
    log_config = kwargs.pop("log_config")
    assert kwargs == {
        "host": "0.0.0.0",
        "port": 8123,
        "log_level": "warning",
        "proxy_headers": False,  # only RATE_LIMIT_TRUSTED_PROXIES decides the client address
        "forwarded_allow_ips": "",
    }
    jeex = log_config["loggers"]["jeex_cache"]
    assert jeex == {"handlers": ["default"], "level": "WARNING", "propagate": False}
    assert "jeex_cache" not in uvicorn.config.LOGGING_CONFIG["loggers"]  # a copy was changed


def test_serve_end_to_end(tmp_path: Path) -> None:
    """``python -m jeex_cache.cli serve`` on the memory backend answers /health, then stops."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    log_path = tmp_path / "serve.log"
    command = [sys.executable, "-m", "jeex_cache.cli", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            status = _wait_for_health(f"http://127.0.0.1:{port}/health", process, timeout=15)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert status == 200, output
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output


def _wait_for_health(url: str, process: subprocess.Popen[bytes], timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = client.get(url)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return 200
            time.sleep(0.1)
    return None
