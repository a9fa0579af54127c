"""Connection set-up: URLs as redis-py takes them, TLS, unix socket, AUTH and ACL, RESP3."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from jeex_cache.core.transport import (
    ConnectError,
    Connection,
    Limits,
    NodePool,
    ReplyError,
    parse_url,
)
from jeex_cache.testing import RedisServer
from tests.transport.conftest import call

LIMITS = Limits(deadline=5, connect_timeout=5)


async def _roundtrip(url: str) -> list[Any]:
    node = NodePool(parse_url(url), limits=LIMITS)
    try:
        values = await asyncio.gather(*(call(node, "ECHO", str(i)) for i in range(200)))
        name = await call(node, "CLIENT", "GETNAME")
        db = await call(node, "CLIENT", "INFO")
        return [values == [str(i).encode() for i in range(200)], name, db]
    finally:
        await node.close()


def test_urls_parse_as_redis_py_reads_them() -> None:
    plain = parse_url("redis://alice:p%40ss@example.org:6380/3?client_name=app")
    assert (plain.host, plain.port, plain.db, plain.username, plain.password) == (
        "example.org", 6380, 3, "alice", "p@ss",
    )  # fmt: skip
    assert plain.client_name == "app"
    assert plain.ssl is None
    assert "p@ss" not in repr(plain)
    assert parse_url("redis://:secret@h/0").username is None
    assert parse_url("redis://h?db=5").db == 5
    assert parse_url("redis://h/1?protocol=3").protocol == 3
    unix = parse_url("unix:///run/redis.sock?db=2")
    assert (unix.path, unix.db) == ("/run/redis.sock", 2)
    tls = parse_url("rediss://h:6390?ssl_cert_reqs=none")
    assert tls.ssl is not None
    assert tls.ssl.verify_mode == ssl.CERT_NONE
    assert tls.server_hostname == "h"
    assert parse_url("redis://h?socket_timeout=1&health_check_interval=3").host == "h"
    for bad in (
        "http://h",
        "redis://h/x",
        "redis://h?db=x",
        "redis://h?protocl=3",
        "redis://h?protocol=4",
        "redis://h?ssl_cert_reqs=none",
        "rediss://h?ssl_cert_reqs=sometimes",
        "unix://",
    ):
        with pytest.raises(ValueError, match=r"."):
            parse_url(bad)


async def test_database_and_client_name_are_set_on_every_connection(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/4?client_name=jeex-test"
    ok, name, info = await _roundtrip(url)
    assert ok
    assert name == b"jeex-test"
    assert b" db=4 " in info


@pytest.fixture(scope="module")
def tls_server() -> Iterator[RedisServer]:
    with RedisServer.start(tls=True) as server:
        yield server


async def test_tls(tls_server: RedisServer) -> None:
    ok, _, info = await _roundtrip(tls_server.url)
    assert ok
    assert f"laddr=127.0.0.1:{tls_server.tls_port}".encode() in info


async def test_tls_refuses_an_unknown_certificate_authority(tls_server: RedisServer) -> None:
    url = f"rediss://127.0.0.1:{tls_server.tls_port}/0"  # the system CAs only
    with pytest.raises(ConnectError):
        await Connection.open(parse_url(url), LIMITS)
    insecure = await _roundtrip(url + "?ssl_cert_reqs=none")
    assert insecure[0]


async def test_unix_socket() -> None:
    with RedisServer.start(unix_socket=True) as server:
        assert server.url.startswith("unix://")
        ok, _, info = await _roundtrip(server.url)
    assert ok
    assert b"laddr=/" in info


async def test_password_and_acl_user() -> None:
    with RedisServer.start("--requirepass", "top-secret") as server:
        with redis.Redis(port=server.port, password="top-secret") as admin:
            admin.acl_setuser(
                "worker", enabled=True, passwords=["+w0rk"], keys=["*"], commands=["+@all"]
            )
        base = f"127.0.0.1:{server.port}/0"
        assert (await _roundtrip(f"redis://:top-secret@{base}"))[0]
        assert (await _roundtrip(f"redis://worker:w0rk@{base}"))[0]
        assert (await _roundtrip(f"redis://worker:w0rk@{base}?protocol=3"))[0]
        for wrong in (f"redis://worker:nope@{base}", f"redis://{base}"):
            node = NodePool(parse_url(wrong), limits=LIMITS)
            with pytest.raises(ReplyError):
                await call(node, "PING")
            await node.close()


async def test_resp3_hello_and_push_messages(redis_url: str) -> None:
    pushes: list[list[Any]] = []
    endpoint = parse_url(redis_url + "?protocol=3")
    connection = await Connection.open(endpoint, LIMITS, on_push=pushes.append)
    try:
        assert await connection.call("HSET", "h", "f", "v") == 1
        assert await connection.call("HGETALL", "h") == {b"f": b"v"}  # a RESP3 map
        assert await connection.call("CLIENT", "TRACKING", "ON") == b"OK"
        assert await connection.call("GET", "tracked") is None
        with redis.Redis.from_url(redis_url) as other:
            other.set("tracked", "changed")
        for _ in range(200):
            if pushes:
                break
            await connection.call("PING")  # replies still match around the push
        assert pushes == [[b"invalidate", [b"tracked"]]]
        assert await connection.call("ECHO", "after") == b"after"
    finally:
        connection.close()
