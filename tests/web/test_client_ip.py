"""The client IP behind proxies: forwarding headers count only from trusted proxies."""

from __future__ import annotations

import pytest

from jeex_cache import ConfigurationError, Settings
from jeex_cache.fastapi.client_ip import ClientAddress

PROXIES = ClientAddress(["10.0.0.0/8", "2001:db8:ffff::/48"])
FORWARDED = ClientAddress(["10.0.0.0/8"], header="forwarded")


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, object]:
    return {
        "type": "http",
        "client": None if peer is None else (peer, 5555),
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }


@pytest.mark.parametrize(
    ("resolver", "request_scope", "client"),
    [
        # No trusted proxy: the peer, whatever the headers say.
        (ClientAddress(), scope("203.0.113.9", ("x-forwarded-for", "1.2.3.4")), "203.0.113.9"),
        # An untrusted peer cannot claim to be someone else.
        (PROXIES, scope("203.0.113.9", ("x-forwarded-for", "1.2.3.4")), "203.0.113.9"),
        # A trusted proxy: the hop it appended.
        (PROXIES, scope("10.0.0.5", ("x-forwarded-for", "203.0.113.9")), "203.0.113.9"),
        # ... and a client's forged hops to the left of it are never reached.
        (
            PROXIES,
            scope("10.0.0.5", ("x-forwarded-for", "1.1.1.1, 2.2.2.2, 203.0.113.9, 10.1.1.1")),
            "203.0.113.9",
        ),
        # Several header lines are one list; ports and brackets are not part of the address.
        (
            PROXIES,
            scope(
                "10.0.0.5", ("x-forwarded-for", "9.9.9.9"), ("x-forwarded-for", "[2001:db8::7]:443")
            ),
            "2001:db8::7",
        ),
        (PROXIES, scope("10.0.0.5", ("x-forwarded-for", "203.0.113.9:8080")), "203.0.113.9"),
        # Every hop trusted: the first of them.
        (PROXIES, scope("10.0.0.5", ("x-forwarded-for", "10.9.9.9, 10.2.2.2")), "10.9.9.9"),
        # A hop that is not an address stops at the proxy that reported it.
        (PROXIES, scope("10.0.0.5", ("x-forwarded-for", "1.1.1.1, garbage")), "10.0.0.5"),
        (PROXIES, scope("10.0.0.5"), "10.0.0.5"),
        (PROXIES, scope("2001:db8:ffff::1", ("x-forwarded-for", "198.51.100.1")), "198.51.100.1"),
        # RFC 7239 Forwarded, when that is the header the proxy writes.
        (
            FORWARDED,
            scope(
                "10.0.0.5", ("forwarded", 'for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https')
            ),
            "2001:db8:cafe::17",
        ),
        (
            FORWARDED,
            scope("10.0.0.5", ("forwarded", "For=198.51.100.7;by=10.0.0.5")),
            "198.51.100.7",
        ),
        (FORWARDED, scope("10.0.0.5", ("forwarded", "for=unknown")), "10.0.0.5"),
        (FORWARDED, scope("10.0.0.5", ("forwarded", "proto=http")), "10.0.0.5"),
        # The X-Forwarded-For of a proxy that writes Forwarded is the client's: ignored.
        (FORWARDED, scope("10.0.0.5", ("x-forwarded-for", "1.2.3.4")), "10.0.0.5"),
        (ClientAddress(), scope("::ffff:192.0.2.8"), "192.0.2.8"),
        # No IP peer (a Unix socket, a test client's name): unknown.
        (PROXIES, scope(None), None),
        (PROXIES, scope("testclient"), None),
    ],
)
def test_client_address(
    resolver: ClientAddress, request_scope: dict[str, object], client: str | None
) -> None:
    assert resolver.of_scope(request_scope) == client


def test_settings_configure_the_resolver() -> None:
    settings = Settings(
        rate_limit_trusted_proxies="10.0.0.0/8, 192.0.2.1",
        rate_limit_forwarded_header="Forwarded",
    )
    resolver = ClientAddress.from_settings(settings)
    assert [str(n) for n in resolver.trusted] == ["10.0.0.0/8", "192.0.2.1/32"]
    assert resolver.header == "forwarded"
    with pytest.raises(ConfigurationError, match="RATE_LIMIT_TRUSTED_PROXIES"):
        Settings(rate_limit_trusted_proxies="10.0.0.0/8, everyone")
    with pytest.raises(ConfigurationError, match="RATE_LIMIT_FORWARDED_HEADER"):
        Settings(rate_limit_forwarded_header="x-real-ip")
