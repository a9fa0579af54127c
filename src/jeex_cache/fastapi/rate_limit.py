"""Rate limits for your routes, one line each, by client IP, session user or project.

    per_user = rate_limit(RateLimitRule.per_user(RateLimitPolicy.per(minute=5, name="upload")))
    per_ip = rate_limit(RateLimitRule.per_ip(RateLimitPolicy.per(minute=100)))

    @app.post("/projects/{project_id}/files", dependencies=[Depends(per_user), Depends(per_ip)])
    async def upload(...): ...

A per-user rule depends on ``require_session`` and a per-project rule on
``require_project_access``: the limit counts the identity they establish, and a request
without one gets their 401/404 before anything is counted. A rule whose identity is still
unknown (a custom ``user`` callable that answered None) raises ``ConfigurationError``: a
500 that says what is missing, never a request let through unlimited. Two limits of one
route that would count in the same key (same scope, identity and window names) raise it too.

Every response to a checked request carries ``RateLimit-Policy`` and ``RateLimit`` (with
``RateLimitMiddleware`` or ``install_rate_limiting``); a refused one is 429 with
``Retry-After`` and a problem body. While the backend is down checks fail open.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jeex_cache import LimitsLike, RateLimitPolicy, RateLimitResult, UserSession
from jeex_cache.config import DEFAULT_EXEMPT_PATHS
from jeex_cache.core.errors import ConfigurationError
from jeex_cache.fastapi._app import manager_of
from jeex_cache.fastapi.client_ip import ClientAddress
from jeex_cache.fastapi.problems import problem_response
from jeex_cache.fastapi.rate_limit_http import (
    RateLimitExceeded,
    handle_rate_limit_exceeded,
    rate_limit_headers,
    refusal,
)
from jeex_cache.fastapi.sessions import require_project_access, require_session
from jeex_cache.manager import CacheManager

__all__ = [
    "EXEMPT_PATHS",
    "UNKNOWN_CLIENT",
    "RateLimitMiddleware",
    "RateLimitRule",
    "install_rate_limiting",
    "rate_limit",
    "session_project",
    "session_user",
]

Identify = Callable[[HTTPConnection], "str | UUID | int | None"]

EXEMPT_PATHS = frozenset(DEFAULT_EXEMPT_PATHS)  # probes, /metrics, the docs
# The identity of every peer without an address: the unspecified address, which no peer has.
UNKNOWN_CLIENT = "0.0.0.0"
_STATE = "jeex_rate_limits"  # the checks of one request, in its scope's state


def session_user(connection: HTTPConnection) -> str | UUID | int | None:
    """``request.state.user_id``, as ``require_session`` sets it; None when unset."""
    user: str | UUID | int | None = connection.scope.get("state", {}).get("user_id")
    return user


def session_project(connection: HTTPConnection) -> str | UUID | int | None:
    """``request.state.project_id``, as ``require_project_access`` sets it; None when unset."""
    project: str | UUID | int | None = connection.scope.get("state", {}).get("project_id")
    return project


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """A policy, the scope it counts in, and how to tell who the request is from.

    ``requires`` is the dependency that establishes the identity (``rate_limit`` runs it
    first); ``identify`` reads it.
    """

    policy: RateLimitPolicy
    scope: str
    identify: Identify
    requires: Callable[..., Awaitable[UserSession]] | None = None

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
    def per_user(cls, limits: LimitsLike, user: Identify | None = None) -> RateLimitRule:
        """Per session user: the route then requires a session (``require_session``). Give
        ``user`` to read the user from your own authentication instead."""
        if user is not None:
            return cls(_policy(limits), "user", user)
        return cls(_policy(limits), "user", session_user, require_session)

    @classmethod
    def per_project(cls, limits: LimitsLike, parameter: str = "project_id") -> RateLimitRule:
        """Per project, the one of the path parameter ``parameter``: the route then requires
        a session with access to it (``require_project_access(parameter)``)."""
        return cls(_policy(limits), "project", session_project, require_project_access(parameter))

    async def check(self, connection: HTTPConnection, manager: CacheManager) -> RateLimitResult:
        """Count the request; ``ConfigurationError`` if its identity is unknown."""
        identifier = self.identify(connection)
        if identifier is None:
            raise ConfigurationError(
                f"a per-{self.scope} rate limit on {connection.url.path} found no {self.scope}: "
                f"add Depends(require_session) (per user) or Depends(require_project_access()) "
                f"(per project), or set request.state.{self.scope}_id in your authentication"
            )
        return await manager.check_rate_limit(identifier, self.scope, self.policy)


def _policy(limits: LimitsLike) -> RateLimitPolicy:
    return limits if isinstance(limits, RateLimitPolicy) else RateLimitPolicy.of(limits)


def _checks(scope: Scope) -> list[RateLimitResult]:
    state: dict[str, Any] = scope.setdefault("state", {})
    checks: list[RateLimitResult] = state.setdefault(_STATE, [])
    return checks


def _record(checks: list[RateLimitResult], result: RateLimitResult, path: str) -> None:
    """Add ``result`` to the request's checks; two checks of one key are a wiring mistake."""
    keys = {(w.scope, w.identifier, w.name) for check in checks for w in check.windows}
    clash = [w.name for w in result.windows if (w.scope, w.identifier, w.name) in keys]
    if clash:
        raise ConfigurationError(
            f"two rate limits on {path} count in the same key ({result.windows[0].scope}, "
            f"window {clash[0]!r}): give one policy a name, "
            f"RateLimitPolicy.per(..., name='burst')"
        )
    checks.append(result)


class RateLimitMiddleware:
    """Applies ``rules`` to every HTTP request outside ``exempt``, refuses with 429, and
    adds the RateLimit headers of every check of the request (the dependencies' too)."""

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
                try:
                    result = await rule.check(connection, self.manager)
                    _record(checks, result, scope["path"])
                except ConfigurationError as error:
                    response = problem_response(500, str(error), title="Misconfigured")
                    await response(scope, receive, send)
                    return
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


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
RateLimitDependency = Callable[..., Awaitable[RateLimitResult]]


def rate_limit(rule: RateLimitRule, manager: CacheManager | None = None) -> RateLimitDependency:
    """A FastAPI dependency applying ``rule`` to a route: ``Depends(rate_limit(rule))``.

    The manager is ``manager``, else the app's (``install``). A refused request raises
    ``RateLimitExceeded`` (429). The dependency's value is the check's result.
    """

    async def apply(request: Request) -> RateLimitResult:
        result = await rule.check(request, manager or manager_of(request))
        checks = _checks(request.scope)
        _record(checks, result, request.url.path)
        if not result.allowed:
            raise RateLimitExceeded(result, checks)
        return result

    if rule.requires is None:
        return apply

    async def after_identity(request: Request, identity: UserSession) -> RateLimitResult:
        return await apply(request)

    # Built by hand: under postponed annotations FastAPI could not resolve a closure's name.
    after_identity.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", _POSITIONAL, annotation=Request),
            inspect.Parameter(
                "identity", _POSITIONAL, annotation=Annotated[UserSession, Depends(rule.requires)]
            ),
        ]
    )
    return after_identity


def install_rate_limiting(
    app: FastAPI,
    manager: CacheManager,
    rules: Sequence[RateLimitRule] | None = None,
    *,
    exempt: Iterable[str] = EXEMPT_PATHS,
) -> None:
    """Add the middleware (outermost, so refusals cost no body read) and the 429 handler.

    ``rules`` None: ``RATE_LIMIT_DEFAULT_REQUESTS`` per ``RATE_LIMIT_DEFAULT_WINDOW`` seconds
    per client IP (proxies as ``RATE_LIMIT_TRUSTED_PROXIES`` says), unless
    ``RATE_LIMIT_ENABLED`` is false.
    """
    if rules is None:
        settings = manager.settings
        default = RateLimitRule.per_ip(
            settings.rate_limit_default, ClientAddress.from_settings(settings)
        )
        rules = [default] if settings.rate_limit_enabled else []
    app.add_middleware(RateLimitMiddleware, manager=manager, rules=rules, exempt=exempt)
    app.add_exception_handler(RateLimitExceeded, handle_rate_limit_exceeded)
