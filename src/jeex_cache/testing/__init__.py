"""Test helpers: a real ``redis-server`` on a free loopback port, for your tests and ours.

    with RedisServer.start() as server:
        settings = Settings(redis_url=server.url)

    RedisServer.start(tls=True).url          # rediss://... with a throw-away CA (needs openssl)
    RedisServer.start(unix_socket=True).url  # unix://...

Needs a ``redis-server`` binary on PATH (or ``REDIS_SERVER_BIN``). The server keeps nothing on
disk and dies with the test process. A TLS or unix-socket server also listens on its plain
loopback port (``plain_url``), for fixtures that inspect it.
"""

from __future__ import annotations

from jeex_cache.testing.cluster import RedisCluster, key_count
from jeex_cache.testing.sentinel import SentinelSet
from jeex_cache.testing.server import RedisServer, RedisServerError, free_port

__all__ = [
    "RedisCluster",
    "RedisServer",
    "RedisServerError",
    "SentinelSet",
    "free_port",
    "key_count",
]
