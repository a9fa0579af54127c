"""The serve log's backend line shows where the backend is, for every URL form, and never
its credentials (the web tests run on memory and one server only)."""

from __future__ import annotations

import pytest

from jeex_cache.web.app import _where


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@cache.internal:6380/2", "redis://cache.internal:6380"),
        ("rediss://user:secret@cache.internal/0", "rediss://cache.internal:6379"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        (
            "redis+sentinel://user:secret@s1:26379,s2:26379/mymaster/0",
            "redis+sentinel://s1:26379,s2:26379/mymaster/0",
        ),
        ("redis+cluster://user:secret@n1:7000,n2:7001?x=1", "redis+cluster://n1:7000,n2:7001"),
    ],
)
def test_the_backend_line_shows_the_topology_without_credentials(url: str, shown: str) -> None:
    assert _where(url) == shown
    assert "secret" not in _where(url)
