"""How the executor sees one call of a batch: its command, first key, name; which commands
never share a connection; and what a failed call's error becomes."""

from __future__ import annotations

from typing import Any

from redis.exceptions import (
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)

from jeex_cache.core.errors import BackendError
from jeex_cache.core.scripts import Command, ScriptCall
from jeex_cache.core.transport import (
    OUTAGE_REPLIES,
    RETRYABLE_REPLIES,
    ClusterError,
    ReplyError,
    encode,
)

__all__ = [
    "DEDICATED",
    "backend_error",
    "call_name",
    "command_of",
    "encoded",
    "first_key",
    "is_noscript",
    "outage_reply",
]

# Never on a shared connection: they block it, or change its state for everyone on it.
DEDICATED = frozenset({
    "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
    "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "MULTI", "EXEC", "DISCARD", "WATCH",
    "UNWATCH", "SELECT", "AUTH", "HELLO", "RESET", "CLIENT", "QUIT",
})  # fmt: skip


def command_of(call: ScriptCall | Command) -> Command:
    """The command a call sends (EVALSHA for a script)."""
    if isinstance(call, ScriptCall):
        keys = call.keys
        return ("EVALSHA", call.script.sha, len(keys), *keys, *call.args)
    return call


def encoded(call: ScriptCall | Command) -> bytes:
    """The call's command in RESP."""
    return encode(command_of(call))


def first_key(call: ScriptCall | Command) -> str | None:
    """The key a call routes by: a script's first key, a command's first argument."""
    if isinstance(call, ScriptCall):
        return call.keys[0] if call.keys else None
    return call[1] if len(call) > 1 and isinstance(call[1], str) else None


def is_noscript(result: Any) -> bool:
    """A NOSCRIPT reply, from either transport."""
    return isinstance(result, NoScriptError) or (
        isinstance(result, ReplyError) and result.is_noscript
    )


# redis-py strips the code of the replies it has a class for.
_REDIS_PY_OUTAGES: tuple[tuple[type[ResponseError], str], ...] = (
    (NoPermissionError, "NOPERM"), (ReadOnlyError, "READONLY"), (OutOfMemoryError, "OOM"),
)  # fmt: skip


def outage_reply(error: object) -> str | None:
    """The code of an error reply that refuses service (NOAUTH, LOADING, OOM...), from
    either transport; None for anything else. See ``OUTAGE_REPLIES``."""
    if isinstance(error, ReplyError):
        return error.code if error.is_outage else None
    if isinstance(error, ResponseError):
        for kind, code in _REDIS_PY_OUTAGES:
            if isinstance(error, kind):
                return code
        word = str(error).split(" ", 1)[0]
        return word if word in OUTAGE_REPLIES else None
    return None


def call_name(call: ScriptCall | Command) -> str:
    """The script's or command's name, for messages."""
    return call.script.name if isinstance(call, ScriptCall) else str(call[0])


def backend_error(operation: str, error: BaseException) -> BackendError:
    """``error`` as ``BackendError``: transient unless the server answered that the call
    itself was wrong (an error reply that refuses no service)."""
    code = outage_reply(error)
    if code is not None:
        return BackendError(
            f"redis {operation} failed: {error}", transient=code in RETRYABLE_REPLIES
        )
    if isinstance(error, ReplyError | ResponseError):
        return BackendError(f"redis {operation} failed: {error}", transient=False)
    if isinstance(error, ClusterError):  # the cluster answered, settling
        return BackendError(f"redis {operation} failed: {error}")
    return BackendError(f"redis {operation} failed: {type(error).__name__}: {error}")
