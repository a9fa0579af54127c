"""``Endpoint``: where and how to connect, parsed from a redis-py style URL.

Accepted, as redis-py accepts them:

- ``redis://[[user]:password@]host[:port][/db]``
- ``rediss://...`` (TLS) with ``ssl_cert_reqs`` (``none``, ``optional``, ``required``),
  ``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_password``,
  ``ssl_check_hostname`` and ``ssl_min_version`` query options;
- ``unix://[[user]:password@]/path/to/socket[?db=N]``;
- ``db``, ``client_name`` and ``protocol`` (2 or 3) in the query of any of them;
- ``redis+cluster://[[user]:password@]host:port[,host:port...][?options]`` and
  ``rediss+cluster://...``: the seed nodes of a Redis Cluster (``parse_cluster_url``), each
  with the options above; database 0 only (a cluster has no other).

redis-py's other query options (timeouts, pool sizes, keepalive...) are accepted and left to
the settings; an unknown one is an error, so a typo does not pass silently.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["CLUSTER_SCHEMES", "Endpoint", "node_url", "parse_cluster_url", "parse_url"]

CLUSTER_SCHEMES = frozenset({"redis+cluster", "rediss+cluster"})

_SSL_OPTIONS = frozenset({
    "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_path", "ssl_certfile", "ssl_keyfile",
    "ssl_password", "ssl_check_hostname", "ssl_min_version",
})  # fmt: skip
_IGNORED = frozenset({
    "socket_timeout", "socket_connect_timeout", "socket_read_size", "socket_keepalive",
    "retry_on_timeout", "max_connections", "health_check_interval", "timeout",
    "legacy_responses", "decode_responses", "encoding",
})  # fmt: skip
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One server: address, TLS context, credentials, database, name and RESP version."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket instead of host:port
    ssl: ssl.SSLContext | None = field(default=None, compare=False)
    server_hostname: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    client_name: str | None = None
    protocol: int = 2

    @property
    def address(self) -> str:
        """``host:port`` or the socket path, for messages (never the credentials)."""
        return self.path if self.path is not None else f"{self.host}:{self.port}"


def parse_url(url: str, *, client_name: str | None = None, protocol: int | None = None) -> Endpoint:
    """Parse ``url``; ``client_name`` and ``protocol`` apply unless the URL sets them.

    Raises ``ValueError`` naming the problem (never echoing the URL: it may hold a password).
    """
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items() if values}
    unknown = set(query) - _SSL_OPTIONS - _IGNORED - {"db", "client_name", "protocol"}
    if unknown:
        raise ValueError(f"unknown Redis URL option(s): {', '.join(sorted(unknown))}")
    db = _int(query, "db", 0)
    path: str | None = None
    host, port = "127.0.0.1", 6379
    if parts.scheme == "unix":
        path = unquote(parts.path)
        if not path:
            raise ValueError("a unix:// Redis URL needs the socket's path")
    elif parts.scheme in ("redis", "rediss"):
        host = unquote(parts.hostname or "") or host
        port = parts.port or port
        if "db" not in query and parts.path.strip("/"):
            try:
                db = int(unquote(parts.path).strip("/"))
            except ValueError:
                raise ValueError("the Redis URL's path must be a database number") from None
    else:
        raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
    resp = _int(query, "protocol", protocol or 2)
    if resp not in (2, 3):
        raise ValueError("the Redis URL's protocol must be 2 or 3")
    context = _ssl_context(query) if parts.scheme == "rediss" else None
    if context is None and set(query) & _SSL_OPTIONS:
        raise ValueError("ssl_* options need a rediss:// URL")
    return Endpoint(
        host=host,
        port=port,
        path=path,
        ssl=context,
        server_hostname=host if context is not None else None,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        db=db,
        client_name=query.get("client_name", client_name),
        protocol=resp,
    )


def _int(query: dict[str, str], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        return int(query[name])
    except ValueError:
        raise ValueError(f"the Redis URL's {name} must be a number") from None


def _ssl_context(query: dict[str, str]) -> ssl.SSLContext:
    reqs = query.get("ssl_cert_reqs", "required").lower()
    if reqs not in _CERT_REQS:
        raise ValueError("ssl_cert_reqs must be none, optional or required")
    context = ssl.create_default_context(
        cafile=query.get("ssl_ca_certs"), capath=query.get("ssl_ca_path")
    )
    check = query.get("ssl_check_hostname", "true").lower() not in ("0", "false", "no", "n")
    context.check_hostname = check and _CERT_REQS[reqs] != ssl.CERT_NONE
    context.verify_mode = _CERT_REQS[reqs]
    if "ssl_certfile" in query:
        context.load_cert_chain(
            query["ssl_certfile"], query.get("ssl_keyfile"), query.get("ssl_password")
        )
    if "ssl_min_version" in query:
        context.minimum_version = ssl.TLSVersion(_int(query, "ssl_min_version", 0))
    return context


def parse_cluster_url(url: str) -> tuple[Endpoint, ...]:
    """The seed nodes of a ``redis+cluster://`` or ``rediss+cluster://`` URL.

    Raises ``ValueError`` naming the problem (never echoing the URL).
    """
    scheme, _, rest = url.partition("://")
    if scheme not in CLUSTER_SCHEMES:
        raise ValueError("a Redis Cluster URL starts with redis+cluster:// or rediss+cluster://")
    netloc, path, query = _split(rest)
    userinfo, _, hosts = netloc.rpartition("@")
    seeds = [host.strip() for host in hosts.split(",") if host.strip()]
    if not seeds:
        raise ValueError("a Redis Cluster URL needs at least one host:port")
    if path.strip("/") not in ("", "0"):
        raise ValueError("a Redis Cluster has database 0 only")
    endpoints = tuple(parse_url(_node(scheme, userinfo, seed, query)) for seed in seeds)
    if any(endpoint.db != 0 for endpoint in endpoints):
        raise ValueError("a Redis Cluster has database 0 only")
    return endpoints


def node_url(url: str, host: str, port: int) -> str:
    """The plain ``redis[s]://`` URL of one node of the cluster of ``url`` (same credentials,
    TLS and options), for a driver that connects to a single server."""
    scheme, _, rest = url.partition("://")
    netloc, _, query = _split(rest)
    userinfo = netloc.rpartition("@")[0]
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return _node(scheme, userinfo, address, query)


def _split(rest: str) -> tuple[str, str, str]:
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    return netloc, slash + path, query


def _node(scheme: str, userinfo: str, address: str, query: str) -> str:
    plain = "rediss" if scheme.startswith("rediss") else "redis"
    auth = f"{userinfo}@" if userinfo else ""
    return f"{plain}://{auth}{address}/0" + (f"?{query}" if query else "")
