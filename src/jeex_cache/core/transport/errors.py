"""The transport's errors: a server's error reply, and the transient failures of a link.

``ReplyError`` is the server answering (a wrong type, a script error, NOSCRIPT): retrying
changes nothing. Some replies say the server cannot serve us at all (refused credentials,
loading its data, out of memory, a replica): ``is_outage`` marks them, and the executor
treats them as the backend failing, not as a bug of the call.

``TransportError`` and its subclasses say the link failed: transient, so an idempotent call
may be tried again. ``ConnectionLost.sent`` tells whether the command may have reached the
server; one that was never written is safe to send again on another connection.
"""

from __future__ import annotations

import hiredis

__all__ = [
    "OUTAGE_REPLIES",
    "RETRYABLE_REPLIES",
    "ClusterError",
    "ConnectError",
    "ConnectionLost",
    "DeadlineExceeded",
    "ProtocolError",
    "ReplyError",
    "TransportError",
]


OUTAGE_REPLIES = frozenset(
    {"NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "MASTERDOWN", "READONLY", "OOM", "MISCONF"}
)
"""Error codes that say the server cannot serve this client now: credentials refused or
rotated, an ACL that denies us, a dataset loading, a replica cut from its master or
promoted away, memory full, snapshots failing. Backend failures, not bad calls."""

RETRYABLE_REPLIES = frozenset({"LOADING", "MASTERDOWN", "READONLY"})
"""Outage replies that a moment may cure (a load ending, a failover settling)."""


class ReplyError(hiredis.ReplyError):
    """An error reply from the server, e.g. ``WRONGTYPE ...`` or ``NOSCRIPT ...``.

    hiredis builds these for error replies, also inside pipelines (in place) and arrays.
    ``incident`` is set on the copies one refused handshake hands to each waiting caller.
    """

    incident: object = None

    @property
    def code(self) -> str:
        """The error's first word (``ERR``, ``WRONGTYPE``, ``NOSCRIPT``...)."""
        text = str(self)
        return text.split(" ", 1)[0] if text else ""

    @property
    def is_outage(self) -> bool:
        """The server refuses to serve us now (``OUTAGE_REPLIES``): a backend failure."""
        return self.code in OUTAGE_REPLIES

    @property
    def is_noscript(self) -> bool:
        """The script is not in the server's cache (flushed, or a restarted server)."""
        return str(self).startswith("NOSCRIPT")


class TransportError(Exception):
    """The link to the server failed: transient (the server may be fine a moment later)."""

    transient = True

    def __init__(self, message: str, *, incident: object = None) -> None:
        super().__init__(message)
        # One object per failure of one link: the callers it failed share it, so a breaker
        # can count one outage once rather than once per caller in flight.
        self.incident = incident if incident is not None else self


class ConnectError(TransportError):
    """No connection could be opened (refused, timed out, TLS or handshake failed)."""


class ConnectionLost(TransportError):  # noqa: N818 - reads as what happened
    """The connection broke while the command was queued or in flight."""

    def __init__(self, message: str, *, sent: bool, incident: object = None) -> None:
        super().__init__(message, incident=incident)
        self.sent = sent


class DeadlineExceeded(ConnectionLost):
    """No reply within the deadline: the connection is closed (a stalled server)."""

    def __init__(self, message: str, *, incident: object = None) -> None:
        super().__init__(message, sent=True, incident=incident)


class ProtocolError(TransportError):
    """The server sent bytes that are not RESP, or a reply nobody asked for."""


class ClusterError(TransportError):
    """The cluster did not settle in time: too many MOVED/ASK redirects, or TRYAGAIN /
    CLUSTERDOWN past the command's deadline (a failover or a slot migration under way)."""
