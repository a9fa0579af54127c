"""Sentinel URLs, the topologies that wait for replicas, and the scripts that do."""

from __future__ import annotations

import pytest

from jeex_cache import ConfigurationError, Settings
from jeex_cache.backends import SCHEMES
from jeex_cache.core.replication import Replication, replication_for
from jeex_cache.core.scripts import loaded
from jeex_cache.core.transport.sentinel_url import parse_sentinel_url


def test_sentinels_service_db_and_credentials() -> None:
    config = parse_sentinel_url(
        "redis+sentinel://app:s%40cret@10.0.0.1:26379,[::1]:26380/orders/3"
        "?sentinel_password=watch&client_name=api"
    )
    assert [(node.host, node.port) for node in config.sentinels] == [
        ("10.0.0.1", 26379),
        ("::1", 26380),
    ]
    assert config.service == "orders"
    master = config.master
    assert (master.username, master.password, master.db, master.client_name) == (
        "app", "s@cret", 3, "api",
    )  # fmt: skip
    assert all(node.password == "watch" and node.db == 0 for node in config.sentinels)
    assert master.ssl is None
    assert "s@cret" not in repr(config)
    assert "watch" not in repr(config)


def test_tls_applies_to_sentinels_and_master() -> None:
    config = parse_sentinel_url("rediss+sentinel://h:26379/svc?ssl_cert_reqs=none")
    assert config.master.ssl is not None
    assert config.sentinels[0].ssl is not None
    assert config.master.db == 0


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel:///svc/0",  # no sentinel
        "redis+sentinel://h:26379",  # no service
        "redis+sentinel://h:26379/svc/0/extra",
        "redis+sentinel://h/svc/0",  # no port
        "redis+sentinel://h:99999/svc/0",
        "redis+sentinel://h:26379/svc/x",  # db not a number
        "redis+sentinel://h:26379/svc/0?db=1",
        "redis+sentinel://h:26379/svc/0?bogus=1",
        "redis+sentinel://h:26379/svc/0?ssl_cert_reqs=none",  # ssl_* needs rediss+sentinel
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"Sentinel URL|Redis URL|ssl_"):
        parse_sentinel_url(url)


def test_the_backend_accepts_the_schemes() -> None:
    for scheme in ("redis+sentinel", "rediss+sentinel"):
        assert Settings(redis_url=f"{scheme}://h:26379/svc/0").redis_url is not None
        assert scheme in SCHEMES


async def test_a_bad_sentinel_url_is_a_configuration_error() -> None:
    from jeex_cache.core.connect import create_transport

    with pytest.raises(ConfigurationError, match="Sentinel URL") as caught:
        create_transport(Settings(redis_url="redis+sentinel://u:hunter2@h:26379/"))
    assert "hunter2" not in str(caught.value)


def test_only_replicated_topologies_wait() -> None:
    sentinel = "redis+sentinel://h:26379/svc/0"
    assert replication_for(Settings(redis_url=sentinel)) == Replication(1, 500)
    assert replication_for(Settings(redis_url=sentinel, redis_wait_timeout=50)) == Replication(
        1, 50
    )
    assert replication_for(Settings(redis_url=sentinel, redis_wait_replicas=0)) is None
    assert replication_for(Settings(redis_url="redis://h:6379/0")) is None
    assert replication_for(Settings(redis_url=None)) is None


def test_the_enqueue_script_alone_is_durable() -> None:
    import jeex_cache.tasks.redis  # noqa: F401 - registers the task scripts

    durable = {script.name for script in loaded() if script.durable}
    assert durable == {"task_enqueue"}
