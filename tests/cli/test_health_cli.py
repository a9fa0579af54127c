"""``jeex-cache health``: exit status 0, 1 or 2 for healthy, degraded or unhealthy."""

from __future__ import annotations

import json

import redis

from jeex_cache.testing import RedisServer
from tests.cli.conftest import Cli, run_cli


def test_the_memory_backend_is_healthy() -> None:
    ran = run_cli("health", redis_url=None)
    assert ran.status == 0, ran.err
    assert ran.out.startswith("healthy backend=memory")


def test_a_running_redis_is_healthy(cli: Cli) -> None:
    ran = cli("health", "--json")
    assert ran.status == 0, ran.err
    report = json.loads(ran.out)
    assert report["status"] == "healthy"
    assert report["redis"]["reachable"] is True


def test_redis_with_its_memory_nearly_full_is_degraded() -> None:
    with RedisServer.start() as server:
        with redis.Redis.from_url(server.url) as client:
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", used)  # the CLI's own connection pushes it past 90%
        ran = run_cli("health", redis_url=server.url)
    assert ran.status == 1, ran.err
    assert ran.out.startswith("degraded backend=redis")


def test_a_stopped_redis_is_unhealthy() -> None:
    with RedisServer.start() as server:
        server.stop()
        ran = run_cli("health", redis_url=server.url)
        quiet = run_cli("health", "--quiet", redis_url=server.url)
    assert ran.status == 2
    assert ran.out.startswith("unhealthy backend=redis")
    assert quiet.status == 2
    assert quiet.out == ""
