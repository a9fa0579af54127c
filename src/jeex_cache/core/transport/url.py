"""``Endpoint``: where and how to connect, parsed from a redis-py style URL.

Accepted, as redis-py accepts them:

- ``redis://[[user]:password@]host[:port][/db]``
- ``rediss://...`` (TLS) with ``ssl_cert_reqs`` (``none``, ``optional``, ``required``),
  ``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_password``,
  ``ssl_check_hostname`` and ``ssl_min_version`` query options;
- ``unix://[[user]:password@]/path/to/socket[?db=N]``;
- ``db``, ``client_name`` and ``protocol`` (2 or 3) in the query of any of them.

redis-py's other query options (timeouts, pool sizes, keepalive...) are accepted and left to
the settings; an unknown one is an error, so a typo does not pass silently.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Endpoint", "parse_url"]

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
