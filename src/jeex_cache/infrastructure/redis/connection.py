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
from jeex_cache.infrastructure.circuit_breaker import CircuitBreaker, CircuitState
from jeex_cache.infrastructure.redis._gate import FairGate

__all__ = ["Command", "EncodedArg", "LuaScript", "RedisExecutor", "ScriptCall", "create_client"]

EncodedArg = str | bytes | int | float
Command = tuple[EncodedArg, ...]


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


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """One script call of a ``RedisExecutor.batch``."""

    script: LuaScript
    keys: Sequence[str]
    args: Sequence[EncodedArg] = ()


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

    A circuit breaker fails calls fast while Redis is down. A gate admits at most
    ``max_in_flight`` calls (the pool's size) in arrival order; a call that waits longer than
    ``wait_timeout`` for its turn fails as a backend error. (redis-py's blocking pool hands a
    released connection to whoever asks next, not to the longest waiter, so under a burst
    some callers starve until they time out.)
    """

    def __init__(
        self,
        client: aioredis.Redis,
        namespace: str,
        *,
        max_in_flight: int,
        wait_timeout: float,
        breaker: CircuitBreaker,
    ) -> None:
        self.client = client
        self.prefix = f"{namespace}:"
        self.breaker = breaker
        self.max_in_flight = max_in_flight
        self._execute = cast(Callable[..., Awaitable[Any]], client.execute_command)
        self._gate = FairGate(max_in_flight)
        self._wait_timeout = wait_timeout

    @property
    def in_flight(self) -> int:
        """Calls holding a connection right now."""
        return self.max_in_flight - self._gate.free

    async def _admit(self) -> None:
        """Pass the breaker, then wait (first come, first served) for a connection."""
        breaker = self.breaker
        if breaker.state is not CircuitState.CLOSED:
            breaker.before_call()
        if self._gate.try_enter():
            return
        if not await self._gate.wait(self._wait_timeout):
            breaker.release_probe()  # overload says nothing about the server's health
            raise BackendError(
                f"no Redis connection became free within {self._wait_timeout}s "
                "(REDIS_POOL_TIMEOUT; raise REDIS_MAX_CONNECTIONS for more concurrency)"
            )

    def _failed(self, error: BackendError) -> BackendError:
        if error.transient:
            self.breaker.record_failure()
        else:  # the server answered (a script or type error): it is up
            self.breaker.record_success()
        return error

    def _succeeded(self) -> None:
        breaker = self.breaker
        if breaker.consecutive_failures or breaker.state is not CircuitState.CLOSED:
            breaker.record_success()

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
        await self._admit()
        try:
            try:
                reply = await self._execute("EVALSHA", script.sha, len(keys), *keys, *args)
            except NoScriptError:
                reply = await self._execute("EVAL", script.source, len(keys), *keys, *args)
        except RedisError as exc:
            raise self._failed(_translate(exc, script.name)) from exc
        except OSError as exc:
            raise self._failed(BackendError(f"{script.name}: {exc}")) from exc
        except BaseException:
            self.breaker.release_probe()
            raise
        finally:
            self._gate.leave()
        self._succeeded()
        return reply if decode is None else decode(reply)

    async def command(self, *args: EncodedArg) -> Any:
        """Run one plain command."""
        return await self._envelope(f"{args[0]!s}", lambda: self._execute(*args))

    async def scripts_pipelined(
        self, script: LuaScript, calls: Sequence[tuple[Sequence[str], Sequence[EncodedArg]]]
    ) -> list[Any]:
        """Run ``script`` once per (keys, args) in one pipelined round trip."""
        return await self.batch([ScriptCall(script, keys, args) for keys, args in calls])

    async def batch(
        self, calls: Sequence[ScriptCall | Command], *, raise_on_error: bool = True
    ) -> list[Any]:
        """Run scripts and plain commands in one pipelined round trip, in order.

        Calls answered NOSCRIPT (a restarted server) are run again after one SCRIPT LOAD;
        the others are not repeated. A failed call raises ``BackendError``, or with
        ``raise_on_error=False`` stands in the results as one (the others' results kept).
        """
        results = await self._pipeline(calls)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            await self.load(*{cast(ScriptCall, calls[i]).script for i in missing})
            retried = await self._pipeline([calls[i] for i in missing])
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        for i, result in enumerate(results):
            if isinstance(result, Exception):
                name = _call_name(calls[i])
                error = (
                    _translate(result, name)
                    if isinstance(result, RedisError)
                    else BackendError(f"{name}: {result}")
                )
                if raise_on_error:
                    raise error
                results[i] = error
        return results

    async def _pipeline(self, calls: Sequence[ScriptCall | Command]) -> list[Any]:
        async def send() -> list[Any]:
            async with self.client.pipeline(transaction=False) as pipe:
                queue = cast(Callable[..., object], pipe.execute_command)
                for call in calls:
                    if isinstance(call, ScriptCall):
                        sha, keys = call.script.sha, call.keys
                        queue("EVALSHA", sha, len(keys), *keys, *call.args)
                    else:
                        queue(*call)
                return list(await pipe.execute(raise_on_error=False))

        results: list[Any] = await self._envelope("pipeline", send)
        return results

    async def _envelope(self, name: str, send: Callable[[], Awaitable[Any]]) -> Any:
        """``script()``'s admission, error translation and breaker bookkeeping, for any call."""
        await self._admit()
        try:
            result = await send()
        except RedisError as exc:
            raise self._failed(_translate(exc, name)) from exc
        except OSError as exc:
            raise self._failed(BackendError(f"{name}: {exc}")) from exc
        except BaseException:
            self.breaker.release_probe()
            raise
        finally:
            self._gate.leave()
        self._succeeded()
        return result

    async def load(self, *scripts: LuaScript) -> None:
        """SCRIPT LOAD each script (idempotent)."""
        for script in scripts:
            await self.command("SCRIPT", "LOAD", script.source)


def _call_name(call: ScriptCall | Command) -> str:
    return call.script.name if isinstance(call, ScriptCall) else str(call[0])


def _translate(exc: RedisError, operation: str) -> BackendError:
    # A ResponseError is the server answering (wrong type, script error): not transient.
    transient = not isinstance(exc, ResponseError)
    message = f"redis {operation} failed: {type(exc).__name__}: {exc}"
    return BackendError(message, transient=transient)
