"""Client IP addresses as rate-limit identifiers: parsed, normalised, safe inside a key.

One client must map to one identifier however its address is spelled: ``2001:DB8::1``,
``2001:db8:0:0::1`` and ``[2001:db8::1]`` are the same client, and ``::ffff:192.0.2.1`` is the
IPv4 client ``192.0.2.1``. An IPv6 client usually holds a whole /64 (and can pick a fresh
address from it for every request), so IPv6 addresses are grouped by a configurable prefix.
Keys may not hold ``:``, so the IPv6 form is written with ``-`` (``2001-db8--_64``): the
identifier is re-encoded, the key validation is not loosened.
"""

from __future__ import annotations

import ipaddress

from jeex_cache.core.errors import InvalidIdentifierError

__all__ = ["DEFAULT_IPV6_PREFIX", "IPAddress", "normalize_ip", "parse_ip"]

DEFAULT_IPV6_PREFIX = 64

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(value: str) -> IPAddress:
    """Parse an IPv4 or IPv6 address (brackets and an IPv6 zone allowed); IPv4-mapped IPv6
    addresses become IPv4. Raises ``InvalidIdentifierError``."""
    if not isinstance(value, str) or not 2 <= len(value) <= 64:
        raise InvalidIdentifierError("not an IP address (2 to 64 characters)")
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.partition("%")[0]  # a zone (fe80::1%eth0) names the host's interface
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidIdentifierError("not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalize_ip(value: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The key-safe identifier of the client at ``value``.

    IPv4: the dotted quad (``192.0.2.1``). IPv6: the network of ``ipv6_prefix`` bits holding
    the address, compressed, ``:`` written as ``-``, then ``_<prefix>``
    (``2001:db8:1:2:a:b:c:d`` with /64 gives ``2001-db8-1-2--_64``).
    """
    if type(ipv6_prefix) is not int or not 1 <= ipv6_prefix <= 128:
        raise InvalidIdentifierError(f"an IPv6 prefix must be 1 to 128 bits, got {ipv6_prefix!r}")
    address = parse_ip(value)
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    network = ipaddress.IPv6Network((address, ipv6_prefix), strict=False)
    return f"{network.network_address.compressed.replace(':', '-')}_{ipv6_prefix}"
