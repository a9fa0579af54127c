"""A local Redis Cluster from plain ``redis-server`` and ``redis-cli`` binaries, for tests.

    with RedisCluster.start() as cluster:            # 3 masters, 3 replicas
        settings = Settings(redis_url=cluster.url)   # redis+cluster://127.0.0.1:p1,...
        cluster.kill(cluster.master_of(slot))        # SIGKILL a master: its replica takes over

Ports are at most 55535 (the cluster bus listens on port + 10000). Nodes keep no data on disk;
each keeps its ``nodes.conf`` in its own working directory, so a restarted node rejoins.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from typing import Any

import redis

from jeex_cache.testing.server import RedisServer, RedisServerError, StoppedOnExit

__all__ = ["RedisCluster", "key_count"]

_MAX_PORT = 55535


def _cluster_port(taken: set[int]) -> int:
    """A free port whose bus port (+10000) is free too, at most 55535."""
    for _ in range(1000):
        port = random.randint(20000, _MAX_PORT)
        if port in taken or port + 10000 in taken:
            continue
        if all(_free(candidate) for candidate in (port, port + 10000)):
            return port
    raise RedisServerError("no free port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def key_count(url: str) -> int:
    """Keys stored behind ``url``: DBSIZE of a standalone server, summed over a cluster's
    masters for a ``redis+cluster://`` URL."""
    if "+cluster://" not in url:
        return _dbsize(_sync_client(url=url))
    seed = url.partition("://")[2].split(",")[0].split("?")[0].rsplit("@", 1)[-1]
    host, _, port = seed.rpartition(":")
    seed_client = _sync_client(host=host, port=int(port))
    try:
        nodes = seed_client.cluster("NODES")
    finally:
        seed_client.close()
    total = 0
    for address, node in nodes.items():
        if "master" in node["flags"] and "fail" not in node["flags"]:
            node_host, _, node_port = address.rpartition(":")
            total += _dbsize(_sync_client(host=node_host, port=int(node_port)))
    return total


def _sync_client(*, url: str | None = None, host: str = "", port: int = 0) -> Any:
    # Any: redis-py types the synchronous client's replies from 8.0 on, not before.
    return redis.Redis.from_url(url) if url else redis.Redis(host=host, port=port)


def _dbsize(client: Any) -> int:
    try:
        return int(client.dbsize())
    finally:
        client.close()


class RedisCluster(StoppedOnExit):
    """``masters`` masters with ``replicas`` replicas each, on 127.0.0.1."""

    def __init__(self, nodes: list[RedisServer], replicas: int) -> None:
        self.servers = {server.port: server for server in nodes}
        self._replicas = replicas

    @classmethod
    def start(cls, masters: int = 3, replicas: int = 1, node_timeout: int = 1000) -> RedisCluster:
        """Start the nodes, create the cluster and wait until it serves every slot.

        ``masters=1, replicas=0``: one cluster-mode node that serves every slot."""
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RedisServerError("a test cluster needs redis-cli on PATH")
        taken: set[int] = set()
        servers: list[RedisServer] = []
        try:
            for _ in range(masters * (1 + replicas)):
                port = _cluster_port(taken)
                taken.add(port)
                servers.append(RedisServer.start(
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(node_timeout), port=port,
                ))  # fmt: skip
            addresses = [f"127.0.0.1:{server.port}" for server in servers]
            if len(servers) == 1:  # redis-cli wants 3 masters: one node takes every slot
                with redis.Redis(port=servers[0].port) as client:
                    client.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
            else:
                subprocess.run(
                    [cli, "--cluster", "create", *addresses, "--cluster-replicas", str(replicas),
                     "--cluster-yes"],
                    check=True, capture_output=True, timeout=60,
                )  # fmt: skip
        except BaseException:
            for server in servers:
                server.stop()
            raise
        cluster = cls(servers, replicas)
        cluster.wait_until_ok()
        return cluster

    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.servers)

    def client(self, port: int) -> redis.Redis:
        """A plain client of one node (close it after use)."""
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def _nodes(self) -> dict[int, str]:
        """Port -> flags of every node, as a live node sees them."""
        for port, server in self.servers.items():
            if not server.running:
                continue
            try:
                with self.client(port) as client:
                    nodes = client.cluster("NODES")
            except redis.RedisError:
                continue
            return {int(addr.rsplit(":", 1)[1]): node["flags"] for addr, node in nodes.items()}
        raise RedisServerError("no cluster node answers")

    def masters(self) -> list[int]:
        """Ports of the live masters."""
        nodes = self._nodes().items()
        return sorted(port for port, flags in nodes if "master" in flags and "fail" not in flags)

    def master_of(self, slot: int) -> int:
        """The port of the master that serves ``slot``."""
        with self.client(self.masters()[0]) as client:
            for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    return int(master[1])
        raise RedisServerError(f"slot {slot} is not served")

    def node_id(self, port: int) -> str:
        """The cluster node ID of the node on ``port``."""
        with self.client(port) as client:
            return str(client.execute_command("CLUSTER MYID").decode())

    def flush(self) -> None:
        """FLUSHALL on every master."""
        for port in self.masters():
            with self.client(port) as client:
                client.flushall()

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port``."""
        self.servers[port].kill()

    def restart(self, port: int) -> None:
        """Start a killed node again (it rejoins, as a replica if it was failed over)."""
        self.servers[port].restart()

    def wait_until_ok(self, timeout: float = 60.0) -> None:
        """Until every live node says cluster_state:ok, every slot has a master, and every
        replica is in sync."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._settled():
                return
            time.sleep(0.1)
        raise RedisServerError(f"the test cluster did not settle within {timeout}s")

    def _settled(self) -> bool:
        try:
            for port, server in self.servers.items():
                if not server.running:
                    continue
                with self.client(port) as client:
                    if client.cluster("INFO")["cluster_state"] != "ok":
                        return False
                    info = client.info("replication")
                    if info["role"] == "slave" and info.get("master_link_status") != "up":
                        return False
                    live = sum(1 for s in self.servers.values() if s.running)
                    if len(client.cluster("NODES")) < live:
                        return False
        except (redis.RedisError, KeyError):
            return False
        return True

    def stop(self) -> None:
        """Stop every node and remove their working directories."""
        for server in self.servers.values():
            server.stop()
