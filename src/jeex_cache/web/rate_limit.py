"""Rate limiting for Starlette/FastAPI apps: app-wide rules (middleware) and per-route rules
(a dependency), by client IP, session user or project.

    install_rate_limiting(app, manager, [RateLimitRule.per_ip(RateLimitPolicy.per(minute=100))])

    upload_limit = rate_limit(RateLimitRule.per_user(RateLimitPolicy.per(hour=20, name="upload")))

    @app.post("/projects/{project_id}/files", dependencies=[Depends(upload_limit)])
    async def upload(...): ...

Every response to a checked request carries ``RateLimit-Policy`` and ``RateLimit``; a refused
one is 429 with ``Retry-After`` and a problem body (see ``rate_limit_http``). A user or
project rule whose identity is unknown (no user, no ``project_id`` in the path) does not
apply; a per-IP rule counts a peer without an address (a Unix socket, a server that put
``unknown`` there) under ``UNKNOWN_CLIENT``, one quota for all of them. While the backend is
down checks fail open: the request goes through, without headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import FastAPI
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jeex_cache.config import DEFAULT_EXEMPT_PATHS
from jeex_cache.core.errors import InvalidIdentifierError
from jeex_cache.core.identifiers import parse_uuid
from jeex_cache.manager import CacheManager
from jeex_cache.rate_limit.policy import RateLimitPolicy, RateLimitResult
from jeex_cache.rate_limit.service import LimitsLike
from jeex_cache.web.client_ip import ClientAddress
from jeex_cache.web.rate_limit_http import (
    RateLimitExceeded,
    handle_rate_limit_exceeded,
    rate_limit_headers,
    refusal,
)

__all__ = [
    "EXEMPT_PATHS",
    "RateLimitMiddleware",
    "UNKNOWN_CLIENT",
    "RateLimitRule",
    "install_rate_limiting",
    "rate_limit",
    "session_user",
]

Identify = Callable[[HTTPConnection], "str | UUID | None"]

EXEMPT_PATHS = frozenset(DEFAULT_EXEMPT_PATHS)  # probes, /metrics, the docs
# The identity of every peer without an address: the unspecified address, which no peer has.
UNKNOWN_CLIENT = "0.0.0.0"
_STATE = "jeex_rate_limits"  # the checks of one request, in its scope's state


def session_user(connection: HTTPConnection) -> str | UUID | None:
    """The user of the request's session: ``request.state.user_id``, as set by your
    authentication (or the sessions middleware); None when anonymous."""
    user: str | UUID | None = connection.scope.get("state", {}).get("user_id")
    return user


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """A policy, the scope it counts in, and how to tell who the request is from."""

    policy: RateLimitPolicy
    scope: str
    identify: Identify

    @classmethod
    def per_ip(
        cls, limits: LimitsLike, client_address: ClientAddress | None = None
    ) -> RateLimitRule:
        """Per client IP (IPv6 grouped by ``RATE_LIMIT_IPV6_PREFIX``); forwarding headers are
        believed only from the proxies ``client_address`` trusts (by default, none). A peer
        without an address is counted as ``UNKNOWN_CLIENT``, never let through unlimited."""
        resolve = client_address or ClientAddress()

        def address(connection: HTTPConnection) -> str:
            return resolve(connection) or UNKNOWN_CLIENT

        return cls(_policy(limits), "ip", address)

    @classmethod
    def per_user(cls, limits: LimitsLike, user: Identify = session_user) -> RateLimitRule:
        """Per session user (``session_user`` unless another ``user`` callable is given)."""
        return cls(_policy(limits), "user", user)

    @classmethod
    def per_project(cls, limits: LimitsLike, parameter: str = "project_id") -> RateLimitRule:
        """Per project, read from the route's ``parameter``: for the dependency (path
        parameters are known only once the route is matched). A value that is not a UUID
        is left to the route's own validation (422), unlimited."""

        def project(connection: HTTPConnection) -> UUID | None:
            value = connection.scope.get("path_params", {}).get(parameter)
            try:
                return parse_uuid(value)
            except InvalidIdentifierError:
                return None

        return cls(_policy(limits), "project", project)

    async def check(
        self, connection: HTTPConnection, manager: CacheManager
    ) -> RateLimitResult | None:
        """Check the request against the rule; None when its identity is unknown."""
        identifier = self.identify(connection)
        if identifier is None:
            return None
        return await manager.check_rate_limit(identifier, self.scope, self.policy)


def _policy(limits: LimitsLike) -> RateLimitPolicy:
    return limits if isinstance(limits, RateLimitPolicy) else RateLimitPolicy.of(limits)


def _checks(scope: Scope) -> list[RateLimitResult]:
    state: dict[str, Any] = scope.setdefault("state", {})
    checks: list[RateLimitResult] = state.setdefault(_STATE, [])
    return checks


class RateLimitMiddleware:
    """Applies ``rules`` to every HTTP request outside ``exempt``, refuses with 429, and
    adds the RateLimit headers of every check of the request (the dependency's too)."""

    def __init__(
        self,
        app: ASGIApp,
        manager: CacheManager,
        rules: Sequence[RateLimitRule] = (),
        exempt: Iterable[str] = EXEMPT_PATHS,
    ) -> None:
        self.app = app
        self.manager = manager
        self.rules = tuple(rules)
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        checks = _checks(scope)
        if self.rules and scope["path"] not in self.exempt:
            connection = HTTPConnection(scope)
            for rule in self.rules:
                result = await rule.check(connection, self.manager)
                if result is None:
                    continue
                checks.append(result)
                if not result.allowed:
                    await refusal(result, checks)(scope, receive, send)
                    return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and checks:
                headers = list(message.get("headers", ()))
                if not any(name == b"ratelimit" for name, _ in headers):  # a refusal has them
                    for name, value in rate_limit_headers(checks).items():
                        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def rate_limit(
    rule: RateLimitRule, manager: CacheManager | None = None
) -> Callable[[Request], Awaitable[RateLimitResult | None]]:
    """A FastAPI dependency applying ``rule`` to a route: ``Depends(rate_limit(rule))``.

    The manager is ``manager``, else the one given to ``install_rate_limiting``, else the
    reference service's (``app.state.manager``). A refused request raises
    ``RateLimitExceeded`` (429). The dependency's value is the check's result.
    """

    async def dependency(request: Request) -> RateLimitResult | None:
        state = request.app.state
        cache: CacheManager | None = (
            manager or getattr(state, "rate_limit_manager", None) or getattr(state, "manager", None)
        )
        if cache is None:
            raise RuntimeError(
                "rate_limit() has no CacheManager: pass one, or call install_rate_limiting"
            )
        result = await rule.check(request, cache)
        if result is None:
            return None
        checks = _checks(request.scope)
        checks.append(result)
        if not result.allowed:
            raise RateLimitExceeded(result, checks)
        return result

    return dependency


def install_rate_limiting(
    app: FastAPI,
    manager: CacheManager,
    rules: Sequence[RateLimitRule] | None = None,
    *,
    exempt: Iterable[str] = EXEMPT_PATHS,
) -> None:
    """Add the middleware (outermost, so refusals cost no body read) and the 429 handler.

    ``rules`` None is the reference service's default: ``RATE_LIMIT_DEFAULT_REQUESTS`` per
    ``RATE_LIMIT_DEFAULT_WINDOW`` seconds per client IP (proxies as configured by
    ``RATE_LIMIT_TRUSTED_PROXIES``), unless ``RATE_LIMIT_ENABLED`` is false.
    """
    if rules is None:
        settings = manager.settings
        default = RateLimitRule.per_ip(
            settings.rate_limit_default, ClientAddress.from_settings(settings)
        )
        rules = [default] if settings.rate_limit_enabled else []
    app.state.rate_limit_manager = manager
    app.add_middleware(RateLimitMiddleware, manager=manager, rules=rules, exempt=exempt)
    app.add_exception_handler(RateLimitExceeded, handle_rate_limit_exceeded)
