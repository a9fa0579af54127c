"""One real ``redis-server`` on a free loopback port (``jeex_cache.testing.RedisServer``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from types import TracebackType
from typing import Self

from jeex_cache.core.errors import JeexCacheError

__all__ = ["RedisServer", "RedisServerError", "StoppedOnExit", "free_port"]


class RedisServerError(JeexCacheError):
    """A test redis-server could not be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StoppedOnExit:
    """``with Thing.start() as thing:`` stops it on the way out (``stop`` is the subclass's)."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class RedisServer(StoppedOnExit):
    """A ``redis-server`` child process on 127.0.0.1; stop, kill, pause and restart it."""

    def __init__(
        self,
        port: int,
        extra_args: tuple[str, ...] = (),
        *,
        tls: bool = False,
        unix_socket: bool = False,
    ) -> None:
        self.port = port
        self._extra_args = extra_args
        self._workdir = tempfile.mkdtemp(prefix="jeex-redis-")
        self._process: subprocess.Popen[bytes] | None = None
        self.tls_port: int | None = None
        self.ca_file: str | None = None
        self.socket_path: str | None = None
        if tls:
            self.tls_port = free_port()
            self.ca_file = _make_certificates(self._workdir)
            self._extra_args += (
                "--tls-port", str(self.tls_port),
                "--tls-cert-file", os.path.join(self._workdir, "server.crt"),
                "--tls-key-file", os.path.join(self._workdir, "server.key"),
                "--tls-ca-cert-file", self.ca_file,
                "--tls-auth-clients", "no",
            )  # fmt: skip
        if unix_socket:
            self.socket_path = os.path.join(self._workdir, "redis.sock")
            self._extra_args += ("--unixsocket", self.socket_path, "--unixsocketperm", "700")

    @classmethod
    def start(
        cls,
        *extra_args: str,
        port: int | None = None,
        tls: bool = False,
        unix_socket: bool = False,
    ) -> RedisServer:
        """Start a server (on a free port unless given) and wait until it answers.

        ``tls``: also listen for TLS with a certificate of a CA made for it (``ca_file``);
        ``unix_socket``: also listen on a unix socket in its working directory.
        """
        server = cls(port or free_port(), extra_args, tls=tls, unix_socket=unix_socket)
        server.restart()
        return server

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``, or the TLS or unix-socket URL of such a server."""
        if self.tls_port is not None:
            return f"rediss://127.0.0.1:{self.tls_port}/0?ssl_ca_certs={self.ca_file}"
        if self.socket_path is not None:
            return f"unix://{self.socket_path}?db=0"
        return self.plain_url

    @property
    def plain_url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` (every server listens there)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process ID while it runs."""
        return self._process.pid if self._process is not None and self.running else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def restart(self) -> None:
        """(Re)start the process on the same port and wait for it to accept connections."""
        if self.running:
            return
        binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
        if binary is None:
            raise RedisServerError(
                "redis-server is not on PATH: install it (apt-get install redis-server) "
                "or set REDIS_SERVER_BIN"
            )
        command = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self._workdir, "--protected-mode", "yes",
            *self._extra_args,
        ]  # fmt: skip
        with open(self._log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_until_ready()

    @property
    def _log_path(self) -> str:
        return os.path.join(self._workdir, "redis.log")

    def _wait_until_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                with open(self._log_path, errors="replace") as log:
                    tail = log.read()[-2000:]
                raise RedisServerError(f"redis-server exited at start: {tail.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith((b"+PONG", b"-NOAUTH")):  # up (maybe locked)
                        return
            except OSError:
                time.sleep(0.02)
        raise RedisServerError(f"redis-server did not answer on port {self.port} in {timeout}s")

    def kill(self) -> None:
        """SIGKILL the server (an outage) and wait for it to die."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections open but answers nothing (a stall)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server and remove its working directory."""
        if self._process is not None:
            self.resume()
            self.kill()
        shutil.rmtree(self._workdir, ignore_errors=True)


def _make_certificates(directory: str) -> str:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost; the CA's path."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RedisServerError(
            "a TLS test server needs the openssl command (apt-get install openssl)"
        )

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    with open(os.path.join(directory, "san.ext"), "w") as ext:
        ext.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=jeex-test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip
    return os.path.join(directory, "ca.crt")
