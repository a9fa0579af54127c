"""Session candidates: jeex-cache's ``validate_user_session`` and ``create_user_session``
beside raw redis-py doing the same round trips.

- validate: jeex-cache runs ``session_touch.lua`` (read, last activity, sliding idle expiry
  under the absolute cap: one round trip). The baseline is the usual hand-rolled store: the
  session as one JSON string under the SHA-256 of its ID, read with ``GETEX ... PX`` (read and
  refresh the expiry: one round trip) and decoded.
- create: jeex-cache pipelines ``session_index_add.lua`` (the user's index) and
  ``session_create.lua`` (the record): one round trip while the user is under the cap. The
  baseline pipelines ``ZADD`` + ``PEXPIRE`` of a user index and ``SET ... PX`` of the JSON
  record: one round trip. Both draw a 256-bit ID from ``secrets`` and hash it; each call is
  for a new user, so no call evicts.

The sessions of a run expire by themselves (a 15-minute idle timeout, longer than any pause
between a candidate's slices, and a 30-minute lifetime), on a server of the run's own or one
given with ``--redis-url``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from contextlib import AsyncExitStack
from typing import Any

import orjson
from redis.exceptions import RedisError

from benchmarks._candidates import raw_client
from benchmarks._measure import Candidate
from jeex_cache import CacheManager, Settings
from jeex_cache.core.scripts import LuaScript

__all__ = ["CREATE", "VALIDATE", "open_session_candidates"]

VALIDATE = "validate_user_session"
CREATE = "create_user_session"
IDLE_SECONDS, LIFETIME_SECONDS = 900, 1_800
_RAW = "bench:{raw}:"
USER_DATA = {
    "name": "Dana Whitfield",
    "email": "dana@example.com",
    "roles": ["owner", "maintainer"],
    "locale": "en-GB",
}
PROJECTS = [uuid.UUID(int=i + 1) for i in range(5)]


async def _ours(stack: AsyncExitStack, settings: Settings) -> list[Candidate]:
    manager = await stack.enter_async_context(CacheManager(settings))
    session = await manager.create_user_session(uuid.uuid4(), USER_DATA, PROJECTS)
    if session is None or session.session_id is None:
        raise RuntimeError("jeex-cache could not create the benchmark session")
    session_id = session.session_id

    async def validate() -> bool:
        return await manager.validate_user_session(session_id) is not None

    async def create() -> bool:
        return await manager.create_user_session(uuid.uuid4(), USER_DATA, PROJECTS) is not None

    return [
        Candidate(VALIDATE, "jeex-cache", "ours", validate),
        Candidate(CREATE, "jeex-cache", "ours", create),
    ]


def _raw_record(user_id: uuid.UUID) -> bytes:
    return orjson.dumps(
        {"user_id": user_id, "user_data": USER_DATA, "projects": PROJECTS, "created": 0}
    )


async def _raw(
    stack: AsyncExitStack, url: str, settings: Settings, concurrency: int
) -> list[Candidate]:
    client = raw_client(url, settings, concurrency, socket_timeout=False)
    stack.push_async_callback(client.aclose)
    idle_ms = IDLE_SECONDS * 1000
    session_id = secrets.token_urlsafe(32)
    await client.set(_RAW + "sess:" + _digest(session_id), _raw_record(uuid.uuid4()), px=idle_ms)

    async def validate() -> bool:
        try:
            key = _RAW + "sess:" + _digest(session_id)
            payload = await client.getex(key, px=idle_ms)
            return payload is not None and orjson.loads(payload) is not None
        except (RedisError, OSError):
            return False

    async def create() -> bool:
        user_id = uuid.uuid4()
        digest = _digest(secrets.token_urlsafe(32))
        index = f"{_RAW}user:{user_id}"
        try:
            async with client.pipeline(transaction=False) as pipe:
                pipe.zadd(index, {digest: 0})
                pipe.pexpire(index, LIFETIME_SECONDS * 1000)
                pipe.set(_RAW + "sess:" + digest, _raw_record(user_id), px=idle_ms)
                return all(await pipe.execute())
        except (RedisError, OSError):
            return False

    return [
        Candidate(VALIDATE, "redis-py GETEX PX + orjson.loads", "baseline", validate),
        Candidate(CREATE, "redis-py pipeline ZADD+PEXPIRE+SET PX", "baseline", create),
    ]


async def _diagnostics(
    stack: AsyncExitStack, url: str, settings: Settings, concurrency: int
) -> list[Candidate]:
    """Our scripts called straight from redis-py: their server-side cost, no Python layer."""
    client = raw_client(url, settings, concurrency, socket_timeout=False)
    stack.push_async_callback(client.aclose)
    shas: dict[str, str] = {}
    for name in ("session_touch", "session_index_add", "session_create"):
        shas[name] = await client.script_load(
            LuaScript.load("jeex_cache.sessions.redis", name).source
        )
    idle_ms, lifetime_ms = IDLE_SECONDS * 1000, LIFETIME_SECONDS * 1000

    def fields(user_id: uuid.UUID) -> list[Any]:
        pairs: list[Any] = ["u", str(user_id), "it", idle_ms]
        for project in PROJECTS:
            pairs += [f"p:{project}", 1]
        for key, value in USER_DATA.items():
            pairs += [f"d:{key}", orjson.dumps(value)]
        return pairs

    record = _RAW + "sess:touch"
    await client.evalsha(
        shas["session_create"], 1, record, idle_ms, lifetime_ms, *fields(uuid.uuid4())
    )

    async def touch() -> bool:
        try:
            row = await client.evalsha(shas["session_touch"], 1, record, "", "")
        except (RedisError, OSError):
            return False
        return row is not None and len(row[1]) > 0

    async def create() -> bool:
        user_id = uuid.uuid4()
        digest = _digest(secrets.token_urlsafe(32))
        index = f"{_RAW}user:{user_id}"
        try:
            async with client.pipeline(transaction=False) as pipe:
                pipe.evalsha(
                    shas["session_index_add"], 2, index, index + ":adds", digest, 10, lifetime_ms,
                    "", 60_000,
                )  # fmt: skip
                pipe.evalsha(
                    shas["session_create"], 1, _RAW + "sess:" + digest, idle_ms, lifetime_ms,
                    *fields(user_id),
                )  # fmt: skip
                _, created = await pipe.execute()
        except (RedisError, OSError):
            return False
        return int(created[0]) == 1

    return [
        Candidate(VALIDATE, "redis-py EVALSHA(session_touch.lua)", "reference", touch),
        Candidate(CREATE, "redis-py pipeline EVALSHA(index_add + create)", "reference", create),
    ]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session_candidates(
    stack: AsyncExitStack,
    url: str,
    settings: Settings,
    concurrency: int,
    *,
    diagnostics: bool = True,
) -> tuple[list[Candidate], list[str]]:
    """The session candidates (closed with ``stack``), validate first; and notes."""
    ttls = {"cache_user_session_ttl": IDLE_SECONDS, "cache_session_absolute_ttl": LIFETIME_SECONDS}
    session_settings = settings.model_copy(update=ttls)  # a dump masks the URL's password
    candidates = await _ours(stack, session_settings)
    candidates += await _raw(stack, url, settings, concurrency)
    notes: list[str] = []
    if diagnostics:
        try:
            candidates += await _diagnostics(stack, url, settings, concurrency)
        except Exception as exc:  # diagnostics are optional: report, keep going
            notes.append(f"session diagnostic rows skipped: {type(exc).__name__}: {exc}")
    for candidate in candidates:
        if not await candidate.call():
            raise RuntimeError(f"{candidate.key} failed before the benchmark started")
    order = {VALIDATE: 0, CREATE: 1}
    candidates.sort(key=lambda c: order[c.operation])
    return candidates, notes
