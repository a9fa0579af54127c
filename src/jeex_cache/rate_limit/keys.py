"""Rate-limit keys: ``rl:{<scope>.<id>}:[<policy>.]<window>``, one hash tag per identifier.

``prefix`` and ``rate_limit`` assemble a key from the limited identifier in its scope and the
window's name; every identifier is validated here first, like every other key component.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TypeAlias
from uuid import UUID

from jeex_cache.core.errors import InvalidIdentifierError, InvalidInputError
from jeex_cache.core.identifiers import id_text, parse_id, validate_name, validate_token
from jeex_cache.core.ip_address import DEFAULT_IPV6_PREFIX, normalize_ip
from jeex_cache.core.keys import KeySpace, StorageKey, key, key_prefix
from jeex_cache.rate_limit.model import RateLimitWindow

__all__ = [
    "Identifier",
    "prefix",
    "rate_limit",
    "rate_limit_identifier",
    "rate_limit_suffix",
    "window_keys",
    "window_label",
]

Identifier: TypeAlias = str | UUID | int
"""What a limited identifier may be given as (an ``int``: a user's or project's key)."""

_WINDOW_LABELS = {60: "minute", 3_600: "hour", 86_400: "day"}  # RateLimitWindow's values


def rate_limit_identifier(scope: str, identifier: Identifier, ipv6_prefix: int) -> str:
    """The key form of a limited identifier, after validating ``scope`` and ``identifier``.

    ``ip``: a normalised address (IPv6 grouped by ``ipv6_prefix`` bits); ``project``: a
    project ID's canonical text (``core.identifiers.parse_id``); ``user``: a user ID's
    canonical text, or any other opaque token; any other scope: an opaque token (an ``int``
    as its decimal string). A scope holds no ``.``, so no scope and identifier pair can spell
    another pair's hash tag (``{a.b.c}``).
    """
    validate_name(scope, "rate-limit scope", max_length=32)
    if "." in scope:
        raise InvalidIdentifierError(f"a rate-limit scope may not hold '.', got {scope!r}")
    if scope == "project":
        return id_text(parse_id(identifier))
    if scope == "user":
        # One user, one bucket: 42, "42" and a UUID in any case each have one key form.
        with contextlib.suppress(InvalidIdentifierError):
            return id_text(parse_id(identifier, "user ID"))
    if isinstance(identifier, bool):
        raise InvalidIdentifierError("a rate-limit identifier is no bool")
    if isinstance(identifier, UUID | int):
        identifier = str(identifier)
    if scope == "ip":
        return normalize_ip(identifier, ipv6_prefix)
    return validate_token(identifier, "rate-limit identifier")


def window_label(seconds: int) -> str:
    """``minute``, ``hour`` and ``day`` for the spec's windows, ``<n>s`` for any other."""
    if type(seconds) is not int or seconds < 1:
        raise InvalidInputError(f"a window is a positive number of seconds, got {seconds!r}")
    return _WINDOW_LABELS.get(seconds) or f"{seconds}s"


def rate_limit_suffix(seconds: int, policy: str | None = None) -> str:
    """The part of a rate-limit key after its prefix: ``[<policy>.]<window label>``."""
    if policy is None:
        return window_label(seconds)
    validate_name(policy, "rate-limit policy name", max_length=32)
    if "." in policy:
        raise InvalidIdentifierError(f"a rate-limit policy name may not hold '.', got {policy!r}")
    return f"{policy}.{window_label(seconds)}"


def window_keys(prefix: str, names: Sequence[str], space: KeySpace | None = None) -> list[str]:
    """The key of each window (``names``, a policy's) of the identifier of ``prefix``:
    relative to the namespace, or under ``space``'s."""
    base = prefix if space is None else space.prefixed(prefix)
    return list(map(base.__add__, names))  # no Python frame: this is on every check


def prefix(scope: str, identifier: Identifier, *, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """Prefix shared by all windows of one limited identifier (one hash tag); see
    ``rate_limit_identifier`` for what each scope accepts."""
    return key_prefix("rl", _tag(scope, identifier, ipv6_prefix))


def rate_limit(
    scope: str,
    identifier: Identifier,
    window: RateLimitWindow | int,
    policy: str | None = None,
    *,
    ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
) -> StorageKey:
    """Rate-limit log of ``identifier`` in ``scope`` (user, project, ip) for ``window``
    (a ``RateLimitWindow`` or seconds), optionally of a named ``policy``."""
    seconds = window.seconds if isinstance(window, RateLimitWindow) else window
    return key("rl", _tag(scope, identifier, ipv6_prefix), rate_limit_suffix(seconds, policy))


def _tag(scope: str, identifier: Identifier, ipv6_prefix: int) -> str:
    return f"{scope}.{rate_limit_identifier(scope, identifier, ipv6_prefix)}"
