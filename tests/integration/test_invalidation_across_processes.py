"""Invalidation wins across processes, on a real redis-server: process A loads, this process
invalidates while A's loader runs, and A's fill is refused (A still returns its value)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import redis

from jeex_cache import CacheManager
from tests.integration.test_redis_loaders import pop

ROOT = Path(__file__).resolve().parents[2]


def spawn(url: str, project: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.integration._invalidation_worker", url, project]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)


async def test_an_invalidation_in_another_process_wins_over_a_load(
    cache: CacheManager, raw: redis.Redis, redis_url: str
) -> None:
    project = uuid4()
    worker = spawn(redis_url, str(project))
    try:
        pop(raw, "test:loading")  # A's loader has read the row
        assert await cache.invalidate_project_cache(project, "updated") == 0  # nothing cached
        raw.rpush("test:release", 1)
        out, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0
    assert json.loads(out.strip().splitlines()[-1]) == ["superseded", {"row": "v1"}]
    assert await cache.get_project_data(project) is None
