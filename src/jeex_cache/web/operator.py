"""The dashboard's operators: the issuer token as Bearer, or the login cookie ``jeex_ui``.

Logging in at ``/ui/login`` with the issuer token creates a session of the operator user
``OPERATOR`` in the session store, and sets ``jeex_ui`` (HttpOnly, ``SameSite=Strict``, path
``/ui``, 8 hours at most) to ``<expiry>.<session id>.<HMAC of both under the issuer token>``:
never the token itself. A cookie is accepted while its signature holds, it has not expired,
and its session is live; logging out revokes that session, so the cookie is dead at once in
every process. While the session store is down a well-signed cookie is still accepted (the
dashboard is for outages too), but its revocation cannot be checked. Changing the issuer
token ends every login.

A cookie that is malformed in any way (not ASCII, an expiry of 5,000 digits...) is refused
like a forged one: 401, never a 500. Every refused credential counts as a failure
(``credential_failed``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import NamedTuple
from uuid import UUID, uuid5

from starlette.requests import HTTPConnection

from jeex_cache.core.errors import AccessDenied
from jeex_cache.fastapi.credentials import credential_failed, presents_bearer
from jeex_cache.manager import CacheManager
from jeex_cache.web.credentials import BearerToken

__all__ = [
    "COOKIE",
    "LOGIN_SECONDS",
    "OPERATOR",
    "Login",
    "is_operator",
    "login_cookie",
    "parse_login",
]

COOKIE = "jeex_ui"
LOGIN_SECONDS = 8 * 3600
OPERATOR: UUID = uuid5(UUID(int=0), "jeex-cache:ui-operator")
"""The user the dashboard's logins are sessions of."""
_COOKIE_FORM = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_\-]{16,128})\.([0-9a-f]{64})", re.ASCII)


class Login(NamedTuple):
    """A well-signed, unexpired login cookie: its expiry and its session."""

    expires: int
    session_id: str


def _signature(issuer: BearerToken, expires: int, session_id: str) -> str:
    message = f"jeex-ui:{expires}:{session_id}".encode()
    return hmac.new(issuer.token.encode(), message, hashlib.sha256).hexdigest()


def login_cookie(issuer: BearerToken, expires: int, session_id: str) -> str:
    """The cookie value of a login of ``session_id`` until ``expires`` (Unix seconds)."""
    return f"{expires}.{session_id}.{_signature(issuer, expires, session_id)}"


def parse_login(issuer: BearerToken, value: str) -> Login | None:
    """The login ``value`` carries, or None if it is malformed, forged or expired."""
    match = _COOKIE_FORM.fullmatch(value)
    if match is None:
        return None
    expires, session_id, signature = int(match[1]), match[2], match[3]
    expected = _signature(issuer, expires, session_id)
    if expires < time.time() or not hmac.compare_digest(signature, expected):
        return None
    return Login(expires, session_id)


async def is_operator(connection: HTTPConnection, manager: CacheManager) -> bool:
    """Whether the request comes from an operator (see the module's rules)."""
    issuer: BearerToken = connection.app.state.session_issuer
    if issuer.accepts(connection):
        return True
    if presents_bearer(connection):
        credential_failed(connection)
        return False
    value = connection.cookies.get(COOKIE)
    if value is None:
        return False
    login = parse_login(issuer, value)
    if login is None:
        credential_failed(connection)
        return False
    try:
        await manager.require_session(login.session_id)
    except AccessDenied as denied:
        if denied.reason == AccessDenied.UNAVAILABLE:
            return True  # the signature vouches; the revocation cannot be checked now
        credential_failed(connection)  # logged out, or the session ended
        return False
    return True
