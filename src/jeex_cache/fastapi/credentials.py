"""Marking a request whose credential was refused, for ``FailedCredentialLimit`` to count."""

from __future__ import annotations

from starlette.requests import HTTPConnection

__all__ = ["FAILED_STATE", "credential_failed", "presents_bearer"]

FAILED_STATE = "jeex_credential_failed"  # in the request's state: a presented one was refused


def credential_failed(connection: HTTPConnection) -> None:
    """Mark the request: a credential it presented was refused (``FailedCredentialLimit``
    counts it against the client address)."""
    connection.scope.setdefault("state", {})[FAILED_STATE] = True


def presents_bearer(connection: HTTPConnection) -> bool:
    """Whether the request carries an ``Authorization`` header at all."""
    return bool(connection.headers.get("authorization", "").strip())
