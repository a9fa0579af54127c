"""A backend URL checked without connecting, and shown without its secrets.

``check_url`` runs every parse that opening the backend runs (ours for the multiplexed
transport, redis-py's for the dedicated connections), so a URL that cannot work fails when
the settings are built, not at ``initialize()``. ``masked_url`` is the URL as it may be
shown: its password and the ``*password`` options of its query replaced by ``***``.
"""

from __future__ import annotations

import re
import ssl
from urllib.parse import urlsplit

from redis.asyncio.connection import parse_url as redis_py_parse_url

from jeex_cache.core.transport.sentinel_url import SENTINEL_SCHEMES, parse_sentinel_url
from jeex_cache.core.transport.url import CLUSTER_SCHEMES, node_url, parse_cluster_url, parse_url

__all__ = ["MASK", "check_url", "masked_url"]

MASK = "***"
_BAD_PORT = (
    "the port must be a number from 1 to 65535 "
    "(percent-encode any '/', '?', '#' or '@' of the password)"
)
_SECRET_OPTION = re.compile(r"((?:^|&)[^=&]*password=)[^&]*", re.IGNORECASE)


def check_url(url: str) -> None:
    """Raise ``ValueError`` naming what is wrong with a Redis URL (never echoing it)."""
    scheme = urlsplit(url).scheme
    try:
        if scheme in SENTINEL_SCHEMES:
            sentinel = parse_sentinel_url(url)
            driver_urls = [sentinel.node_url, sentinel.sentinel_node_url]
        elif scheme in CLUSTER_SCHEMES:
            driver_urls = [node_url(url, seed.host, seed.port) for seed in parse_cluster_url(url)]
        else:
            parse_url(url)
            driver_urls = [url]
        for driver_url in driver_urls:
            redis_py_parse_url(driver_url)
    except (ssl.SSLError, OSError) as exc:  # a TLS file of the query that cannot be loaded
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"a TLS file its ssl_* options name cannot be loaded ({reason})") from None
    except ValueError as exc:
        if "could not be cast" in str(exc):  # urllib's message quotes the "port": maybe a password
            raise ValueError(_BAD_PORT) from None
        raise


def masked_url(url: str) -> str:
    """``url`` with the password of its user part and of its query options masked.

    Everything before the URL's last ``@`` but a plain user name is masked, so a password
    holding a raw ``/``, ``?`` or ``@`` does not show either.
    """
    scheme, sep, rest = url.partition("://")
    userinfo, at, tail = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        plain = not any(mark in user for mark in "/?#")
        userinfo = (user if plain else "") + ":" + MASK if colon or not plain else userinfo
    address, mark, query = tail.partition("?")
    query = _SECRET_OPTION.sub(lambda match: match.group(1) + MASK, query)
    return f"{scheme}{sep}{userinfo}{at}{address}{mark}{query}"
