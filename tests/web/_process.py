"""``serving(tmp_path, **variables)``: ``jeex-cache serve`` as a real uvicorn process.

It starts ``python -m jeex_cache.cli serve`` on a free port with a clean environment (no
``Settings`` variable but the caller's) and ``FORWARDED_ALLOW_IPS=*``: uvicorn's own proxy
trust at its widest, to show it no longer decides anything. ``Served`` gives its URL, its log,
its process ID and its memory (``rss_bytes``, ``peak_rss_bytes`` from ``/proc``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from jeex_cache import Settings
from jeex_cache.testing import free_port

__all__ = ["ISSUER_LINE", "Served", "backend_variables", "serving"]

ISSUER_LINE = re.compile(r"Authorization: Bearer (\S+)")


@dataclass
class Served:
    """A running ``serve``: its base URL and its log so far."""

    url: str
    log_path: Path
    pid: int

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def rss_bytes(self) -> int:
        """The process's resident memory now (``VmRSS``)."""
        return _status_bytes(self.pid, "VmRSS")

    def peak_rss_bytes(self) -> int:
        """The most resident memory the process ever had (``VmHWM``)."""
        return _status_bytes(self.pid, "VmHWM")


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024  # kB
    raise AssertionError(f"/proc/{pid}/status has no {field}")


@contextmanager
def serving(tmp_path: Path, **variables: str) -> Iterator[Served]:
    """Run ``jeex-cache serve`` with ``variables`` in its environment until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(FORWARDED_ALLOW_IPS="*", **variables)
    log_path = tmp_path / f"serve-{port}.log"
    command = [sys.executable, "-m", "jeex_cache.cli", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            served = Served(f"http://127.0.0.1:{port}", log_path, process.pid)
            _wait_until_up(served, process)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(served: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.get(f"{served.url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError(f"serve did not come up:\n{served.log}")


def backend_variables(settings: Settings) -> dict[str, str]:
    """``REDIS_URL`` for the backend under test (none for memory)."""
    return {} if settings.redis_url is None else {"REDIS_URL": settings.redis_url}
