"""A failover drill on a private 3+3 test cluster, default settings: SIGKILL or SIGSTOP the
master the old health check pinged (the lowest-addressed) under a loop of reads and writes,
and print a timeline every 0.25 s: health status, breakers not closed, calls ok/failed for
the victim's projects and for the others, whether health names the victim.

    python -m benchmarks.failover_drill kill     # or: stop
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from typing import Any

from tests.cluster.conftest import promoted

from jeex_cache import CacheManager, Settings
from jeex_cache.core.transport import key_slot
from jeex_cache.testing import RedisCluster

Row = tuple[float, str, dict[str, str], int, int, int, int, bool]


async def drill(cluster: RedisCluster, mode: str) -> tuple[int, float, list[Row]]:
    async with CacheManager(Settings(redis_url=cluster.url)) as cache:
        backend = cache._backend
        assert backend is not None
        assert backend.executor is not None
        executor = backend.executor
        router = executor.router
        assert router is not None
        victim = router.nodes[0].endpoint.port
        owners = {p: cluster.master_of(key_slot(str(p))) for p in (uuid.uuid4() for _ in range(60))}
        projects = list(owners)
        for project in projects:
            await cache.cache_project_data(project, {"p": 1})
        calls: list[tuple[bool, bool]] = []
        stop = asyncio.Event()

        async def caller(n: int) -> None:
            while not stop.is_set():
                project = projects[n % len(projects)]
                n += 1
                if n % 2:
                    ok = await cache.cache_project_data(project, {"p": 1})
                else:
                    ok = not (await cache.read_project_data(project)).failed
                calls.append((owners[project] == victim, ok))
                await asyncio.sleep(0.002)

        timeline: list[Row] = []

        async def sample() -> None:
            seen = 0
            while not stop.is_set():
                at = time.monotonic()
                health: dict[str, Any] = await cache.health_check()
                states = {n: b.state.value for n, b in executor.breaker.nodes.items()
                          if b.state.value != "closed"}  # fmt: skip
                batch, seen = calls[seen:], len(calls)
                mine = [ok for on_victim, ok in batch if on_victim]
                others = [ok for on_victim, ok in batch if not on_victim]
                problems = health.get("cluster", {}).get("problems", [])
                timeline.append((
                    at, health["status"], states, sum(mine), len(mine) - sum(mine),
                    sum(others), len(others) - sum(others),
                    any(f":{victim}" in problem for problem in problems),
                ))  # fmt: skip
                await asyncio.sleep(max(0.0, 0.25 - (time.monotonic() - at)))

        tasks = [asyncio.create_task(caller(i)) for i in range(12)]
        tasks.append(asyncio.create_task(sample()))
        await asyncio.sleep(1.0)
        started = time.monotonic()
        if mode == "kill":
            cluster.kill(victim)
        else:
            cluster.servers[victim].pause()
        try:
            promotion = await asyncio.to_thread(promoted, cluster, victim, every=0.01)
            await asyncio.sleep(3.0)
        finally:
            if mode != "kill":
                cluster.servers[victim].resume()
        stop.set()
        await asyncio.gather(*tasks)
    shifted = [(row[0] - started, *row[1:]) for row in timeline]
    return victim, promotion - started, shifted


def main(mode: str) -> None:
    with RedisCluster.start() as cluster:
        for port in cluster.servers:  # as docs/deploying.md recommends
            with cluster.client(port) as client:
                client.config_set("cluster-require-full-coverage", "no")
        victim, promotion, timeline = asyncio.run(drill(cluster, mode))
    print(f"{mode}: victim {victim}; promotion at +{promotion:.2f}s")
    print("t(s)   health     breakers not closed              victim ok/failed  others ok/failed")
    for at, status, states, mine_ok, mine_bad, others_ok, others_bad, named in timeline:
        names = "  names the victim" if named else ""
        print(f"{at:+6.2f} {status:10} {states or '-'!s:32} {mine_ok:6}/{mine_bad:<6}"
              f"     {others_ok:6}/{others_bad:<6}{names}")  # fmt: skip
    print(f"failed: victim {sum(r[4] for r in timeline)}, others {sum(r[6] for r in timeline)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "kill")
