"""Redis Cluster URLs and hash slots, without a server."""

from __future__ import annotations

import pytest

from jeex_cache import ConfigurationError, Settings
from jeex_cache.core.connect import create_transport
from jeex_cache.core.transport import ClusterRouter, key_slot, node_url, parse_cluster_url


def test_a_cluster_url_lists_its_seed_nodes_with_shared_credentials() -> None:
    seeds = parse_cluster_url("redis+cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7001?protocol=3")
    assert [(seed.host, seed.port) for seed in seeds] == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert {(seed.username, seed.password, seed.protocol) for seed in seeds} == {
        ("app", "s3cret", 3)
    }
    tls = parse_cluster_url("rediss+cluster://h:7000/?ssl_cert_reqs=none")
    assert tls[0].ssl is not None
    assert tls[0].server_hostname == "h"


@pytest.mark.parametrize(
    "url",
    ["redis+cluster://", "redis+cluster://h:7000/3", "redis+cluster://h:7000?db=2",
     "redis+cluster://h:7000?nonsense=1", "redis://h:7000"],
)  # fmt: skip
def test_a_bad_cluster_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ValueError, match="Redis") as refused:
        parse_cluster_url(url)
    assert url not in str(refused.value)


def test_settings_accept_cluster_urls_and_build_a_cluster_router() -> None:
    settings = Settings(redis_url="redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    assert settings.backend == "redis"
    assert isinstance(create_transport(settings), ClusterRouter)
    assert Settings(redis_url="rediss+cluster://127.0.0.1:7000").redis_url
    with pytest.raises(ConfigurationError, match="database 0"):
        create_transport(Settings(redis_url="redis+cluster://127.0.0.1:7000/1"))


def test_a_node_url_keeps_credentials_tls_and_options() -> None:
    url = "rediss+cluster://u:p@seed:7000,seed:7001/?ssl_cert_reqs=none"
    assert node_url(url, "10.1.2.3", 7005) == "rediss://u:p@10.1.2.3:7005/0?ssl_cert_reqs=none"
    assert node_url("redis+cluster://h:1", "::1", 7000) == "redis://[::1]:7000/0"


def test_key_slot_matches_redis() -> None:
    # Values from CLUSTER KEYSLOT on Redis 7.
    assert key_slot("123456789") == 12739
    assert key_slot("foo") == 12182
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers") == 3443
    assert key_slot("foo{}{bar}") == key_slot(b"foo{}{bar}") == 8363  # empty tag: whole key
    assert key_slot("jeex:proj:{abc}:data") == key_slot("abc") == 7638
