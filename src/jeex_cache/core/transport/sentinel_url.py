"""``SentinelConfig``: the sentinels, the service they watch and how to reach its master.

Accepted:

- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/<service>[/<db>][?options]``
- ``rediss+sentinel://...``: TLS to the sentinels and to the master (``ssl_*`` options as
  for ``rediss://``).

The credentials in the URL are the master's. Sentinels that need their own take the
``sentinel_username`` and ``sentinel_password`` options; other options are those of
``parse_url`` (``db``, ``client_name``, ``protocol``, ``ssl_*``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from jeex_cache.core.transport.url import Endpoint, parse_url

__all__ = ["SENTINEL_SCHEMES", "SentinelConfig", "parse_sentinel_url"]

SENTINEL_SCHEMES = frozenset({"redis+sentinel", "rediss+sentinel"})
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")


@dataclass(frozen=True, slots=True)
class SentinelConfig:
    """Where the sentinels are, the service's name, and the master's connection template
    (its host and port are the sentinels' answer)."""

    sentinels: tuple[Endpoint, ...]
    service: str
    master: Endpoint
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    # The same settings as redis:// URLs with a placeholder host, for redis-py's parse_url.
    node_url: str = field(default="redis://127.0.0.1/0", repr=False)
    sentinel_node_url: str = field(default="redis://127.0.0.1/", repr=False)


def parse_sentinel_url(url: str) -> SentinelConfig:
    """Parse a ``redis+sentinel://`` URL; raises ``ValueError`` naming the problem (never
    echoing the URL: it may hold a password)."""
    parts = urlsplit(url)
    if parts.scheme not in SENTINEL_SCHEMES:
        raise ValueError("a Sentinel URL starts with redis+sentinel:// or rediss+sentinel://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    addresses = [_address(item) for item in hosts.split(",") if item.strip()]
    if not addresses:
        raise ValueError("a Sentinel URL needs at least one sentinel host:port")
    path = [unquote(segment) for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError("a Sentinel URL's path is /<service>/<db>")
    service = path[0]
    query = {name: values[0] for name, values in parse_qs(parts.query).items() if values}
    own = {name: query.pop(name) for name in _SENTINEL_OPTIONS if name in query}
    if len(path) == 2:
        if "db" in query:
            raise ValueError("give the Sentinel URL's database in the path or in db=, not both")
        query["db"] = path[1]
    scheme = "rediss" if parts.scheme == "rediss+sentinel" else "redis"
    credentials = f"{userinfo}@" if userinfo else ""
    node_url = f"{scheme}://{credentials}127.0.0.1/?{urlencode(query, quote_via=quote)}"
    template = parse_url(node_url)
    plain = {name: value for name, value in query.items() if name != "db"}
    base = parse_url(f"{scheme}://127.0.0.1/?{urlencode(plain, quote_via=quote)}")
    user, password = own.get("sentinel_username"), own.get("sentinel_password")
    sentinel_credentials = (
        f"{quote(user or '', safe='')}:{quote(password, safe='')}@" if password is not None else ""
    )
    sentinel_node_url = (
        f"{scheme}://{sentinel_credentials}127.0.0.1/?{urlencode(plain, quote_via=quote)}"
    )
    sentinels = tuple(
        replace(
            base,
            host=host,
            port=port,
            server_hostname=host if base.ssl is not None else None,
            username=user,
            password=password,
            protocol=2,
        )
        for host, port in addresses
    )
    return SentinelConfig(
        sentinels=sentinels,
        service=service,
        master=template,
        sentinel_username=user,
        sentinel_password=password,
        node_url=node_url,
        sentinel_node_url=sentinel_node_url,
    )


def _address(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("a Sentinel URL lists host:port, with ports from 1 to 65535")
    return unquote(host.strip("[]")), int(port)
