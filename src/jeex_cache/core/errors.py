"""The package's errors: one base class and a few precise subclasses.

Bad input is a ``InvalidInputError`` (also a ``ValueError``) raised before anything is
written. Backend failures are translated into ``BackendError`` at the repository boundary;
the failure policy (``core.resilience`` and each capability's ``failures.py``) decides what
callers see.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "BackendError",
    "ConfigurationError",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidProgressError",
    "InvalidTTLError",
    "JeexCacheError",
    "LoaderFailedError",
    "MemoryLimitError",
    "NotInitializedError",
    "PayloadTooLargeError",
    "ReplicationTimeoutError",
    "SerializationError",
    "VersionLimitError",
]


class JeexCacheError(Exception):
    """Base class of every error raised by jeex-cache."""


class InvalidInputError(JeexCacheError, ValueError):
    """A caller passed a value that cannot be accepted; nothing was written."""


class InvalidIdentifierError(InvalidInputError):
    """An identifier (project ID, entry name, tag...) is malformed or would leave its key space."""


class InvalidTTLError(InvalidInputError):
    """A time-to-live is zero, negative or not a number."""


class InvalidProgressError(InvalidInputError):
    """A progress argument is out of range: step count, step, message or event ID."""


class SerializationError(InvalidInputError):
    """A value cannot be encoded as JSON."""


class PayloadTooLargeError(InvalidInputError):
    """An encoded value is larger than the configured maximum (``CACHE_MAX_PAYLOAD_BYTES``)."""


class VersionLimitError(InvalidInputError):
    """An unversioned write would raise an entry's version past 2**53 - 1; nothing was written.

    Write the entry with an explicit ``version`` (below the stored one it is refused as
    stale), or delete it and start again from 1.
    """

    def __init__(
        self,
        message: str = (
            "the entry's version is 2**53 - 1, the highest there is: write it with an "
            "explicit version, or delete it and start again from 1"
        ),
    ) -> None:
        super().__init__(message)


class LoaderFailedError(JeexCacheError):
    """Another process ran the entry's loader and it raised (its error stays there); the
    next call loads again. A caller in the process that ran it gets the loader's own error."""


class ConfigurationError(JeexCacheError, ValueError):
    """A setting (usually an environment variable) has an invalid value."""


class NotInitializedError(JeexCacheError, RuntimeError):
    """The cache manager was used before ``initialize()`` (or after ``close()``)."""


class AccessDenied(JeexCacheError):  # noqa: N818 - the issue's name; it reads as a verdict
    """A session may not reach a project: nothing was read or written.

    ``reason`` says why: ``"invalid_session"`` (unknown, malformed, expired or revoked),
    ``"project_not_granted"`` (the project is not in the session's access list) or
    ``"unavailable"`` (the session store could not be asked: access fails closed).
    """

    INVALID_SESSION = "invalid_session"
    PROJECT_NOT_GRANTED = "project_not_granted"
    UNAVAILABLE = "unavailable"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class BackendError(JeexCacheError):
    """The storage backend (Redis) failed or could not be reached.

    ``transient`` is True for connection-level failures (refused, reset, timed out) that a
    retry may fix, False for errors the server answered with.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class ReplicationTimeoutError(BackendError):
    """A durable write ran on the master, but too few replicas confirmed it in time.

    The write may or may not survive a failover: for a task, it may or may not be queued.
    Check (``get_task_status``) before enqueueing again; see docs/deploying.md, "Durability".
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


class MemoryLimitError(BackendError):
    """The embedded backend is at its byte bound (``CACHE_MEMORY_MAX_BYTES``) and nothing it
    may evict is left: the write was refused, and nothing was written.

    Cache entries are evicted to make room; sessions, queued tasks, progress records and
    rate-limit logs never are. Room comes back as they expire or are deleted; raise the bound,
    or move to Redis, if it is reached in normal use. The failure policy handles it as any
    other backend failure (a cache write returns False, a rate-limit check fails open...).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)
