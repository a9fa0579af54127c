"""Health of every node: a paused master is named and the status stays degraded (no
flapping); after its failover, the promoted master without a replica keeps it degraded; the
survey reads the topology, and health reads never reset what other readers see."""

from __future__ import annotations

import asyncio
import time

from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisCluster
from tests.cluster.conftest import promoted, router_of


async def test_every_node_is_reported(cluster: RedisCluster) -> None:
    async with CacheManager(Settings(redis_url=cluster.url)) as cache:
        health = await cache.health_check()
    assert health["status"] == "healthy", health.get("cluster")
    assert health["cluster"]["cluster_state"] == "ok"
    assert health["cluster"]["problems"] == []
    masters = [node for node in health["nodes"] if node["role"] == "master"]
    replicas = [node for node in health["nodes"] if node["role"] == "replica"]
    assert len(masters) == 3
    assert len(replicas) == 3
    for master in masters:
        assert master["reachable"] is True
        assert master["ping_ms"] >= 0
        assert master["slots"]
        assert master["breaker"] == "closed"
        assert [r["link"] for r in master["replicas"]] == ["connected"]
    assert {r["master"] for r in replicas} == {m["address"] for m in masters}


async def test_a_paused_master_is_named_and_health_does_not_flap(
    private_cluster: RedisCluster,
) -> None:
    cluster = private_cluster
    async with CacheManager(Settings(redis_url=cluster.url)) as cache:
        first = router_of(cache).nodes[0].endpoint  # the node the old health check pinged
        paused = f"{first.host}:{first.port}"
        cluster.servers[first.port].pause()
        try:
            seen: list[tuple[float, str, list[str]]] = []
            started = time.monotonic()
            while time.monotonic() - started < 3.0:
                health = await cache.health_check()
                seen.append((time.monotonic() - started, health["status"],
                             health["cluster"]["problems"]))  # fmt: skip
                await asyncio.sleep(0.25)
            # Its replica takes over; the new master has no replica left (REDIS_WAIT_REPLICAS=1).
            await asyncio.to_thread(promoted, cluster, first.port)
            await asyncio.sleep(0.5)
            after = await cache.health_check()
        finally:
            cluster.servers[first.port].resume()
    print("\nSIGSTOP drill:", [(round(t, 2), status) for t, status, _ in seen])
    assert {status for _, status, _ in seen} == {"degraded"}  # never healthy, never unhealthy
    assert all(any(paused in problem for problem in problems) for _, _, problems in seen)
    assert after["status"] == "degraded"
    assert any("0 live replicas" in problem for problem in after["cluster"]["problems"])
