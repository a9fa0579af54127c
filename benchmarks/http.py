"""A cached route over HTTP: jeex-cache's ``@cached`` against fastapi-cache2, on one Redis.

    python -m benchmarks.http [--seconds S] [--connections N] [--cold N] [--redis-url URL]

Each app runs under uvicorn in a process of its own; a keep-alive HTTP/1.1 load generator
of this process drives it. Reported per library: requests per second and p50/p99 of a hit
(``--connections`` connections for ``--seconds``), the same for a 304 (``If-None-Match``
with the ETag of the hit), and a cold key hit by ``--cold`` requests at once, counting how
often the route ran. fastapi-cache2 is a benchmark peer (benchmarks/requirements.txt); its
row is skipped with a note when it is missing. See benchmarks/README.md ("HTTP").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from benchmarks._stats import summarize
from jeex_cache.testing import RedisServer, free_port

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
APPS = {"jeex-cache": "jeex_app", "fastapi-cache2": "fastapi_cache_app"}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its reply, in turn."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        lines = [f"GET {path} HTTP/1.1", "Host: bench"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        fields = {name.lower(): value for name, value in fields.items()}
        length = int(fields.get("content-length", 0))
        body = await self.reader.readexactly(length) if length else b""
        return Reply(int(status_line.split()[1]), fields, body)

    def close(self) -> None:
        self.writer.close()


def start_app(name: str, port: int, redis_url: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "--factory", f"benchmarks._http_apps:{APPS[name]}",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    env = {**os.environ, "BENCH_REDIS_URL": redis_url}
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def wait_ready(port: int) -> None:
    for _ in range(300):
        try:
            connection = await Connection.open(port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        connection.close()
        return
    raise RuntimeError(f"the app on port {port} did not start")


async def load(port: int, path: str, headers: dict[str, str], seconds: float, connections: int,
               expect: int) -> tuple[float, list[int]]:  # fmt: skip
    """Requests per second and per-request latencies (ns) of ``connections`` loops."""
    samples: list[int] = []
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        connection = await Connection.open(port)
        try:
            while time.perf_counter() < stop:
                start = time.perf_counter_ns()
                reply = await connection.get(path, headers)
                samples.append(time.perf_counter_ns() - start)
                assert reply.status == expect, (reply.status, reply.body[:200])
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(connections)))
    return len(samples) / (time.perf_counter() - began), samples


async def calls(port: int) -> int:
    connection = await Connection.open(port)
    try:
        count: int = orjson.loads((await connection.get("/calls")).body)["report"]
        return count
    finally:
        connection.close()


async def cold(port: int, requests: int) -> tuple[int, list[int]]:
    """``requests`` requests of one cold key at once: the route's runs and the latencies."""
    path = f"/projects/{uuid.uuid4()}/report"
    opened = await asyncio.gather(*(Connection.open(port) for _ in range(requests)))
    before = await calls(port)

    async def one(connection: Connection) -> int:
        start = time.perf_counter_ns()
        reply = await connection.get(path)
        assert reply.status == 200, reply.status
        return time.perf_counter_ns() - start

    samples = await asyncio.gather(*(one(connection) for connection in opened))
    for connection in opened:
        connection.close()
    return await calls(port) - before, list(samples)


async def measure(port: int, args: argparse.Namespace) -> list[str]:
    await wait_ready(port)
    path = f"/projects/{uuid.uuid4()}/report"
    warm = await Connection.open(port)
    first = await warm.get(path)
    etag = (await warm.get(path)).headers["etag"]  # fastapi-cache2 tags hits only
    warm.close()
    assert first.status == 200
    rows = []
    for label, headers, status in (("hit", {}, 200), ("304", {"If-None-Match": etag}, 304)):
        rate, samples = await load(port, path, headers, args.seconds, args.connections, status)
        summary = summarize(samples)
        rows.append(f"{label} | {rate:,.0f} | {summary.p50_us / 1000:.2f} | "
                    f"{summary.p99_us / 1000:.2f}")  # fmt: skip
    runs, samples = await cold(port, args.cold)
    summary = summarize(samples)
    rows.append(f"cold, {args.cold} at once | {runs} route calls | {summary.p50_us / 1000:.2f} | "
                f"{summary.p99_us / 1000:.2f}")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cold", type=int, default=200)
    parser.add_argument("--redis-url")
    args = parser.parse_args(argv)
    print("| library | scenario | req/s (cold: route calls) | p50 ms | p99 ms |")
    print("|---|---|--:|--:|--:|")
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(RedisServer.start()).url
        for name in APPS:
            if name == "fastapi-cache2" and find_spec("fastapi_cache") is None:
                print(f"| {name} | skipped: not installed (benchmarks/requirements.txt) | | | |")
                continue
            port = free_port()
            process = start_app(name, port, url)
            try:
                for row in asyncio.run(measure(port, args)):
                    print(f"| {name} | {row} |")
            finally:
                process.terminate()
                process.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
