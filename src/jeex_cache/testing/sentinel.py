"""Test helper: a Sentinel set of real processes, a master, its replicas and three sentinels.

    with SentinelSet.start() as topology:
        settings = Settings(redis_url=topology.url)  # redis+sentinel://.../jeex/0
        topology.master().kill()                     # a failover follows within seconds

Sentinels notice a dead master after ``down_after_ms`` (1 s) and promote a replica (quorum
2). Needs ``redis-server`` on PATH (or ``REDIS_SERVER_BIN``); nothing is kept on disk.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import hiredis

from jeex_cache.testing.server import RedisServer, RedisServerError, StoppedOnExit, free_port

__all__ = ["SentinelSet"]


class SentinelSet(StoppedOnExit):
    """A master, ``replicas`` replicas and ``sentinels`` sentinels on 127.0.0.1."""

    def __init__(
        self, *, service: str = "jeex", replicas: int = 1, sentinels: int = 3, down_after_ms: int
    ) -> None:
        self.service = service
        self.down_after_ms = down_after_ms
        self.servers: list[RedisServer] = []
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self._replicas = replicas
        self._workdir = tempfile.mkdtemp(prefix="jeex-sentinel-")
        self._processes: list[subprocess.Popen[bytes]] = []

    @classmethod
    def start(
        cls, *, service: str = "jeex", replicas: int = 1, down_after_ms: int = 1000
    ) -> SentinelSet:
        """Start the servers and sentinels, and wait until the sentinels know each other."""
        topology = cls(service=service, replicas=replicas, down_after_ms=down_after_ms)
        try:
            topology._start()
        except BaseException:
            topology.stop()
            raise
        return topology

    @property
    def url(self) -> str:
        """``redis+sentinel://127.0.0.1:<p1>,.../<service>/0``."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    def master(self) -> RedisServer:
        """The server the sentinels name as master now."""
        port = int(self.sentinel("SENTINEL", "get-master-addr-by-name", self.service)[1])
        for server in self.servers:
            if server.port == port:
                return server
        raise RedisServerError(f"the sentinels name an unknown master on port {port}")

    def replicas(self) -> list[RedisServer]:
        """The running servers that are not the master."""
        master = self.master()
        return [server for server in self.servers if server is not master and server.running]

    def flush(self) -> None:
        """FLUSHALL on the master (its replicas follow)."""
        _call(self.master().port, "FLUSHALL")

    def sentinel(self, *command: str) -> list[Any]:
        """Send ``command`` to the first sentinel that answers."""
        for port in self.sentinel_ports:
            try:
                reply = _call(port, *command)
            except OSError:
                continue
            return reply if isinstance(reply, list) else [reply]
        raise RedisServerError("no sentinel answers")

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll ``check`` until it holds (``RedisServerError`` after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except (OSError, RedisServerError, IndexError, ValueError):
                pass
            time.sleep(0.05)
        raise RedisServerError(f"the Sentinel set did not settle in {timeout}s")

    def _start(self) -> None:
        master = RedisServer.start()
        self.servers.append(master)
        for _ in range(self._replicas):
            self.servers.append(RedisServer.start("--replicaof", "127.0.0.1", str(master.port)))
        for server in self.servers[1:]:
            self.wait_for(functools.partial(_linked, server.port))
        binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
        if binary is None:
            raise RedisServerError("redis-server is not on PATH (or set REDIS_SERVER_BIN)")
        for port in self.sentinel_ports:
            path = os.path.join(self._workdir, f"sentinel-{port}.conf")
            with open(path, "w") as conf:
                conf.write(
                    f"port {port}\nbind 127.0.0.1\ndir {self._workdir}\n"
                    f"sentinel monitor {self.service} 127.0.0.1 {master.port} 2\n"
                    f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
                    f"sentinel failover-timeout {self.service} 5000\n"
                    f"sentinel parallel-syncs {self.service} 1\n"
                )
            with open(os.path.join(self._workdir, f"sentinel-{port}.log"), "ab") as log:
                self._processes.append(
                    subprocess.Popen(
                        [binary, path, "--sentinel"],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for port in self.sentinel_ports:
            self.wait_for(functools.partial(self._settled, port))

    def _settled(self, port: int) -> bool:
        """The sentinel on ``port`` knows the other sentinels and every replica."""
        sentinels = _call(port, "SENTINEL", "sentinels", self.service)
        replicas = _call(port, "SENTINEL", "replicas", self.service)
        if not isinstance(sentinels, list) or not isinstance(replicas, list):
            return False
        return len(sentinels) == len(self.sentinel_ports) - 1 and len(replicas) == self._replicas

    def stop(self) -> None:
        """Stop every process and remove the working directories."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for server in self.servers:
            server.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)


def _linked(port: int) -> bool:
    reply = _call(port, "INFO", "replication")
    return isinstance(reply, bytes) and b"master_link_status:up" in reply


def _call(port: int, *command: str) -> object:
    """One command over a plain socket, parsed by hiredis."""
    with socket.create_connection(("127.0.0.1", port), timeout=2.0) as sock:
        pack: Any = hiredis.pack_command  # its stubs' argument type varies by hiredis version
        sock.sendall(pack(command))
        reader = hiredis.Reader()
        while (reply := reader.gets()) is False:
            data = sock.recv(65_536)
            if not data:
                raise OSError("connection closed")
            reader.feed(data)
    if isinstance(reply, hiredis.ReplyError):
        raise RedisServerError(str(reply))
    return reply
