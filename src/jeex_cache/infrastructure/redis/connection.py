"""The Redis connection: client construction, Lua scripts, and error translation.

Every Redis call of every repository goes through ``RedisExecutor``, which is therefore the
one place where driver exceptions become ``BackendError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError

from jeex_cache.config import Settings
from jeex_cache.errors import BackendError
from jeex_cache.infrastructure.redis._gate import FairGate

__all__ = ["LuaScript", "RedisExecutor", "create_client"]

EncodedArg = str | bytes | int | float


@dataclass(frozen=True, slots=True)
class LuaScript:
    """A Lua script shipped as package data, with its SHA1 computed locally."""

    name: str
    source: str
    sha: bytes  # hex digest, pre-encoded: redis-py passes bytes through untouched

    @classmethod
    def load(cls, name: str) -> LuaScript:
        """Read ``lua/<name>.lua`` from the package."""
        source = resources.files(__package__).joinpath(f"lua/{name}.lua").read_text()
        return cls(name, source, hashlib.sha1(source.encode()).hexdigest().encode())


def create_client(settings: Settings) -> aioredis.Redis:
    """A client with a bounded pool and no driver-level retries.

    Retries belong to our resilience layer (idempotent operations only); the driver's own
    retry would turn an outage into a multi-second wait on every call. The pool itself does
    not block: ``RedisExecutor``'s gate keeps the calls in flight within its size.
    """
    assert settings.redis_url is not None
    pool = aioredis.ConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_connect_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool


class RedisExecutor:
    """Runs commands and scripts, reloading scripts on NOSCRIPT and translating errors.

    A gate admits at most ``max_in_flight`` calls (the pool's size) in arrival order; a call
    that waits longer than ``wait_timeout`` for its turn fails as a backend error. (redis-py's
    blocking pool hands a released connection to whoever asks next, not to the longest
    waiter, so under a burst some callers starve until they time out.)
    """

    def __init__(
        self,
        client: aioredis.Redis,
        namespace: str,
        *,
        max_in_flight: int,
        wait_timeout: float,
    ) -> None:
        self.client = client
        self.prefix = f"{namespace}:"
        self._execute = cast(Callable[..., Awaitable[Any]], client.execute_command)
        self._gate = FairGate(max_in_flight)
        self._wait_timeout = wait_timeout

    async def _wait_for_turn(self) -> None:
        if not await self._gate.wait(self._wait_timeout):
            raise BackendError(
                f"no Redis connection became free within {self._wait_timeout}s "
                "(REDIS_POOL_TIMEOUT; raise REDIS_MAX_CONNECTIONS for more concurrency)"
            )

    async def script(
        self,
        script: LuaScript,
        keys: Sequence[str],
        args: Sequence[EncodedArg],
        decode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """EVALSHA ``script``; on NOSCRIPT (a restarted or flushed server) EVAL it once.

        ``decode``, if given, turns the reply into the result here, so that a caller needs
        no coroutine of its own for it (each nested frame costs on every resumption).
        """
        if not self._gate.try_enter():
            await self._wait_for_turn()
        try:
            try:
                reply = await self._execute("EVALSHA", script.sha, len(keys), *keys, *args)
            except NoScriptError:
                reply = await self._execute("EVAL", script.source, len(keys), *keys, *args)
        except RedisError as exc:
            raise _translate(exc, script.name) from exc
        except OSError as exc:
            raise BackendError(f"{script.name}: {exc}") from exc
        finally:
            self._gate.leave()
        return reply if decode is None else decode(reply)

    async def command(self, *args: EncodedArg) -> Any:
        """Run one plain command."""
        if not self._gate.try_enter():
            await self._wait_for_turn()
        try:
            return await self._execute(*args)
        except RedisError as exc:
            raise _translate(exc, f"{args[0]!s}") from exc
        except OSError as exc:
            raise BackendError(f"{args[0]!s}: {exc}") from exc
        finally:
            self._gate.leave()

    async def scripts_pipelined(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Sequence[EncodedArg]]]
    ) -> list[Any]:
        """Run ``script`` once per (keys, args) in one pipelined round trip.

        Calls answered NOSCRIPT (a restarted server) are run again after one SCRIPT LOAD;
        the others are not repeated.
        """
        results = await self._pipeline(script, calls)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            await self.load(script)
            retried = await self._pipeline(script, [calls[i] for i in missing])
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        for result in results:
            if isinstance(result, Exception):
                raise (
                    _translate(result, script.name)
                    if isinstance(result, RedisError)
                    else BackendError(f"{script.name}: {result}")
                )
        return results

    async def _pipeline(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Sequence[EncodedArg]]]
    ) -> list[Any]:
        if not self._gate.try_enter():
            await self._wait_for_turn()
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                queue = cast(Callable[..., object], pipe.execute_command)
                for keys, args in calls:
                    queue("EVALSHA", script.sha, len(keys), *keys, *args)
                return list(await pipe.execute(raise_on_error=False))
        except RedisError as exc:
            raise _translate(exc, script.name) from exc
        except OSError as exc:
            raise BackendError(f"{script.name}: {exc}") from exc
        finally:
            self._gate.leave()

    async def load(self, *scripts: LuaScript) -> None:
        """SCRIPT LOAD each script (idempotent)."""
        for script in scripts:
            await self.command("SCRIPT", "LOAD", script.source)


def _translate(exc: RedisError, operation: str) -> BackendError:
    # A ResponseError is the server answering (wrong type, script error): not transient.
    transient = not isinstance(exc, ResponseError)
    message = f"redis {operation} failed: {type(exc).__name__}: {exc}"
    return BackendError(message, transient=transient)
