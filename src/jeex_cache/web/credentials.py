"""The operators' credentials of the reference service: the session issuer and metrics tokens.

``POST /sessions`` issues a session only to a caller presenting the issuer token as
``Authorization: Bearer <token>``: ``SESSION_ISSUER_TOKEN``, or when that is unset a random
token made when the app is built and logged once at start-up (as Jupyter does). ``GET
/metrics`` asks for ``METRICS_TOKEN`` the same way when it is set. Tokens are compared in
constant time, and never appear in an error or a ``repr``.
"""

from __future__ import annotations

import hmac
import secrets

from pydantic import SecretStr
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from jeex_cache.fastapi.credentials import credential_failed, presents_bearer

__all__ = ["BearerToken", "require_issuer", "require_metrics_token"]

GENERATED_TOKEN_BYTES = 32


class BearerToken:
    """A secret a request presents as ``Authorization: Bearer <token>``."""

    __slots__ = ("_secret", "generated")

    def __init__(self, token: str, *, generated: bool = False) -> None:
        self._secret = token.encode("utf-8")
        self.generated = generated

    @classmethod
    def configured_or_generated(cls, configured: SecretStr | None) -> BearerToken:
        """The configured token, or a new random one (``generated`` True)."""
        if configured is not None:
            return cls(configured.get_secret_value())
        return cls(secrets.token_urlsafe(GENERATED_TOKEN_BYTES), generated=True)

    @property
    def token(self) -> str:
        """The secret itself: for the start-up log line of a generated token, and tests."""
        return self._secret.decode("utf-8")

    def accepts(self, connection: HTTPConnection) -> bool:
        """Whether the request's Bearer credential is this token (constant-time compare)."""
        scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode("utf-8"), self._secret)

    def __repr__(self) -> str:
        return f"BearerToken(generated={self.generated})"


def _refuse(what: str) -> HTTPException:
    return HTTPException(
        401, f"{what}: send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"}
    )


def require_issuer(request: HTTPConnection) -> None:
    """Dependency of ``POST /sessions``: 401 unless the caller presents the issuer token."""
    issuer: BearerToken = request.app.state.session_issuer
    if not issuer.accepts(request):
        if presents_bearer(request):
            credential_failed(request)
        raise _refuse("issuing a session needs the issuer token (JEEX_SESSION_ISSUER_TOKEN)")


def require_metrics_token(request: HTTPConnection) -> None:
    """Dependency of ``GET /metrics``: 401 without ``METRICS_TOKEN`` when one is set."""
    token: BearerToken | None = request.app.state.metrics_token
    if token is not None and not token.accepts(request):
        if presents_bearer(request):
            credential_failed(request)
        raise _refuse("the metrics need the metrics token (JEEX_METRICS_TOKEN)")
