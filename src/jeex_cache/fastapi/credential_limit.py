"""Failed credentials, limited per client address on every path (exempt paths included).

    app.add_middleware(FailedCredentialLimit, manager=manager, login_paths=["/login"])

Each check that refuses a credential the request presented calls ``credential_failed(request)``:
``require_session`` does for a session ID that is not live; your login route does for a wrong
password, your token checks for a wrong token. After the response,
``FailedCredentialLimit`` counts that failure against the client address:
``HTTP_CREDENTIAL_FAILURES`` per ``HTTP_CREDENTIAL_FAILURE_WINDOW`` seconds, in the backend, so
every process shares the count. At it, the process that counted the last failure turns away
every request of that address that presents a credential (``Authorization``, a cookie, or a
POST to one of ``login_paths``) with 429 and ``Retry-After`` until the window frees a
failure, before any credential is checked: a guess that would be right gets the same 429.
With ``P`` processes an address gets at most ``P`` more failures in a window than the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from jeex_cache import RateLimitConfig, RateLimitPolicy
from jeex_cache.config import Settings
from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.ip_address import normalize_ip
from jeex_cache.fastapi.client_ip import ClientAddress
from jeex_cache.fastapi.credentials import FAILED_STATE
from jeex_cache.fastapi.problems import problem_response
from jeex_cache.fastapi.rate_limit import RateLimitRule
from jeex_cache.manager import CacheManager

__all__ = ["FailedCredentialLimit", "failure_rule"]

MAX_BLOCKED = 100_000  # addresses remembered at once per process


def failure_rule(settings: Settings) -> RateLimitRule:
    """The per-address rule failed credentials count under (policy ``credentials``)."""
    window = RateLimitConfig(
        settings.http_credential_failures, settings.http_credential_failure_window
    )
    policy = RateLimitPolicy.of(window, name="credentials")
    return RateLimitRule.per_ip(policy, ClientAddress.from_settings(settings))


class FailedCredentialLimit:
    """ASGI middleware: counts failed credentials, and turns a guessing address away.

    ``rule`` defaults to ``failure_rule(manager.settings)``; a POST to one of
    ``login_paths`` counts as presenting a credential (a login form carries no header).
    """

    def __init__(
        self,
        app: ASGIApp,
        manager: CacheManager,
        rule: RateLimitRule | None = None,
        *,
        login_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.manager = manager
        self.rule = rule or failure_rule(manager.settings)
        self.login_paths = frozenset(login_paths)
        self._ipv6_prefix = manager.settings.rate_limit_ipv6_prefix
        self._blocked: dict[str, float] = {}  # address -> monotonic time it may try again

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        address = self._counted_as(connection)
        wait = self._blocked.get(address, 0.0) - time.monotonic()
        if wait > 0 and self._presents_credential(scope):
            retry = str(max(1, math.ceil(wait)))
            response = problem_response(
                429,
                f"too many failed credentials from this address; retry in {retry} s",
                headers={"Retry-After": retry},
                error="TooManyFailedCredentials",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
        if scope.get("state", {}).get(FAILED_STATE):
            result = await self.rule.check(connection, self.manager)
            if result is None or result.error is not None:  # the backend is down: not counted
                return
            if not result.allowed:  # another process saw the limit first
                self._block(address, result.retry_after)
            elif result.remaining == 0:  # this was the last failure the window admits
                self._block(address, result.reset_seconds)

    def _presents_credential(self, scope: Scope) -> bool:
        names: set[bytes] = {name for name, _ in scope.get("headers", ())}
        if b"authorization" in names or b"cookie" in names:
            return True
        return bool(scope["method"] == "POST" and scope["path"] in self.login_paths)

    def _counted_as(self, connection: HTTPConnection) -> str:
        """The address as the count keys it: an IPv6 client by its network, as the backend
        counts it, so that no address of one network escapes the block."""
        address = str(self.rule.identify(connection))
        try:
            return normalize_ip(address, self._ipv6_prefix)
        except InvalidInputError:
            return address

    def _block(self, address: str, seconds: float) -> None:
        now = time.monotonic()
        if len(self._blocked) >= MAX_BLOCKED:
            self._blocked = {a: t for a, t in self._blocked.items() if t > now}
            while len(self._blocked) >= MAX_BLOCKED:
                del self._blocked[next(iter(self._blocked))]
        self._blocked[address] = now + max(seconds, 1.0)
