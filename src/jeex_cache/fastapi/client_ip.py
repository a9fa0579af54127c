"""The client's IP address, believing ``X-Forwarded-For`` / ``Forwarded`` only from trusted proxies.

Anyone can send a forwarding header. If it were believed from anyone, a client could claim a
fresh address on every request and buy a fresh quota each time. So the headers are read only
when the direct peer is a configured trusted proxy, and then from the right (the hop the proxy
itself appended) leftwards, over trusted proxies only: the first untrusted address is the
client. A hop that is not an address (``unknown``, an obfuscated ``_name``) stops the walk at
the proxy that reported it.
"""

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Literal, Self

from starlette.requests import HTTPConnection
from starlette.types import Scope

from jeex_cache.config import Settings
from jeex_cache.core.errors import InvalidIdentifierError
from jeex_cache.core.ip_address import IPAddress, parse_ip

__all__ = ["ClientAddress", "ForwardedHeader"]

ForwardedHeader = Literal["x-forwarded-for", "forwarded"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)
_V4_WITH_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d+")
_V6_WITH_PORT = re.compile(r"\[([^\]]+)\](?::\d+)?")


class ClientAddress:
    """Resolves a request's client IP; ``ClientAddress()`` trusts no proxy.

    ``ClientAddress(["10.0.0.0/8"], header="forwarded")``, or ``from_settings`` for
    ``RATE_LIMIT_TRUSTED_PROXIES`` and ``RATE_LIMIT_FORWARDED_HEADER``. Name the header your
    proxy writes: a header it passes through untouched is the client's to forge.
    """

    def __init__(
        self,
        trusted: Iterable[str | Network] = (),
        header: ForwardedHeader = "x-forwarded-for",
    ) -> None:
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in trusted
        )
        if header not in ("x-forwarded-for", "forwarded"):
            raise ValueError(f"header must be 'x-forwarded-for' or 'forwarded', got {header!r}")
        self.header = header
        self._header = header.encode("latin-1")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The resolver configured by the rate-limit settings."""
        return cls(settings.trusted_proxies, settings.rate_limit_forwarded_header)

    def __call__(self, connection: HTTPConnection) -> str | None:
        """The client's address, or None when the peer is not an IP (a Unix socket)."""
        return self.of_scope(connection.scope)

    def of_scope(self, scope: Scope) -> str | None:
        """Like calling the resolver, from an ASGI scope."""
        peer = scope.get("client")
        address = _ip(peer[0]) if peer else None
        if address is None:
            return None
        if self.trusted and self._trusts(address):
            hops = self._hops(scope.get("headers", ()))
            for hop in reversed(hops):
                forwarded = _ip(hop)
                if forwarded is None:
                    break  # not an address: believe no further than the proxy that wrote it
                address = forwarded
                if not self._trusts(address):
                    break
        return str(address)

    def _trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def _hops(self, headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
        values = [value.decode("latin-1") for name, value in headers if name == self._header]
        joined = ",".join(values)
        if self.header == "x-forwarded-for":
            return [hop.strip() for hop in joined.split(",") if hop.strip()]
        hops = []
        for element in joined.split(","):
            match = _FOR.search(element)
            hops.append("" if match is None else (match.group(1) or match.group(2) or ""))
        return hops


def _ip(value: str) -> IPAddress | None:
    """An address from a peer or a forwarding hop, ports and brackets allowed."""
    text = value.strip()
    if (match := _V6_WITH_PORT.fullmatch(text)) or (match := _V4_WITH_PORT.fullmatch(text)):
        text = match.group(1)
    try:
        return parse_ip(text)
    except InvalidIdentifierError:
        return None
