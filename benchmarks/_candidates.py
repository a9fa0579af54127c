"""The implementations compared: jeex-cache, and raw redis-py doing the same round trip.

Raw redis-py gets a pool of ``redis_max_connections`` connections (by default one per
caller; hiredis parser when installed); jeex-cache runs on its few multiplexed connections.
The baselines leave out ``socket_timeout``; diagnostic rows add it back, and run our Lua
scripts directly, to attribute the overhead between client, driver and server.
"""

from __future__ import annotations

import importlib.resources
import uuid
from contextlib import AsyncExitStack
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from benchmarks._measure import Call, Candidate
from benchmarks._payloads import nested_1kb
from jeex_cache import CacheManager, Settings

__all__ = [
    "GET",
    "SET",
    "PROJECT_ID",
    "open_candidates",
    "pool_description",
    "raw_client",
    "sample_document",
]

GET = "get_project_data"
SET = "cache_project_data"
PROJECT_ID = uuid.UUID("3f2b8c1e-9a4d-4e6f-b1c2-7d8e9f0a1b2c")
TRIVIAL_GET = "return redis.call('GET', KEYS[1])"
_RAW = "bench:{raw}:"  # keys of the raw candidates, apart from jeex-cache's namespace
_RAW_KEYS = tuple(_RAW + name for name in ("doc", "entry", "setentry", "index", "tags"))


def sample_document() -> dict[str, Any]:
    """The 1 KB nested document (floats, booleans and nulls) of ``benchmarks._payloads``."""
    return nested_1kb()


def pool_description(settings: Settings, concurrency: int) -> str:
    """How every candidate's pool is built."""
    size = settings.redis_max_connections
    if size >= concurrency:
        raw = f"redis.asyncio.ConnectionPool(max_connections={size}) (never waits)"
    else:
        raw = (
            f"redis.asyncio.BlockingConnectionPool(max_connections={size}, "
            f"timeout={settings.redis_pool_timeout})"
        )
    return (
        f"{size} connections for {concurrency} callers. raw redis-py: {raw}; jeex-cache: "
        f"{settings.redis_multiplex_connections} multiplexed connections (core.transport). "
        "'+socket_timeout' rows also set socket_timeout/socket_connect_timeout/retry "
        "exactly as jeex-cache's create_client"
    )


def raw_client(
    url: str, settings: Settings, concurrency: int, *, socket_timeout: bool
) -> aioredis.Redis:
    """A redis-py client with as many connections as jeex-cache gets (hiredis parser).

    With a connection per caller it is redis-py's plain pool; with fewer, its blocking pool
    (the plain one raises 'Too many connections' instead of waiting).
    """
    extra: dict[str, Any] = {}
    if socket_timeout:
        extra = {
            "socket_timeout": settings.redis_socket_timeout,
            "socket_connect_timeout": settings.redis_connect_timeout,
            "retry": Retry(NoBackoff(), 0),
        }
    size = settings.redis_max_connections
    if size >= concurrency:
        pool = aioredis.ConnectionPool.from_url(url, max_connections=size, **extra)
    else:
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=size, timeout=settings.redis_pool_timeout, **extra
        )
    return aioredis.Redis.from_pool(pool)


def _lua_source(name: str) -> str:
    package = importlib.resources.files("jeex_cache.project_cache")
    return package.joinpath(f"lua/{name}.lua").read_text()


async def _ours(
    stack: AsyncExitStack, settings: Settings, document: Any, project_id: uuid.UUID | str
) -> list[Candidate]:
    manager = await stack.enter_async_context(CacheManager(settings))
    if manager.backend_name != "redis":
        raise RuntimeError(f"jeex-cache picked the {manager.backend_name} backend, not redis")
    if not await manager.cache_project_data(project_id, document):
        raise RuntimeError("jeex-cache refused to store the benchmark document")

    async def get() -> bool:
        return await manager.get_project_data(project_id) is not None  # None: a fallback

    async def put() -> bool:
        return await manager.cache_project_data(project_id, document)

    async def forget() -> None:
        await manager.invalidate_project_cache(project_id, "benchmark done")

    stack.push_async_callback(forget)
    return [Candidate(GET, "jeex-cache", "ours", get), Candidate(SET, "jeex-cache", "ours", put)]


# The raw calls count a driver error (e.g. no pooled connection free in time) as a failure,
# as jeex-cache's failure policy does; try/except costs nothing when nothing is raised.


def _plain_get(client: aioredis.Redis, key: str) -> Call:
    async def get() -> bool:
        try:
            payload = await client.get(key)
            return payload is not None and orjson.loads(payload) is not None
        except (RedisError, OSError):
            return False

    return get


def _plain_set(client: aioredis.Redis, key: str, document: Any, ttl_ms: int) -> Call:
    async def put() -> bool:
        try:
            return bool(await client.set(key, orjson.dumps(document), px=ttl_ms))
        except (RedisError, OSError):
            return False

    return put


def _evalsha_get(client: aioredis.Redis, sha: str, key: str) -> Call:
    async def get() -> bool:
        try:
            return orjson.loads(await client.evalsha(sha, 1, key)) is not None
        except (RedisError, OSError):
            return False

    return get


async def _raw(
    stack: AsyncExitStack, url: str, settings: Settings, document: Any, concurrency: int
) -> list[Candidate]:
    client = raw_client(url, settings, concurrency, socket_timeout=False)
    stack.push_async_callback(client.aclose)
    stack.push_async_callback(client.delete, *_RAW_KEYS)
    ttl_ms = settings.project_data_ttl.milliseconds
    key = _RAW + "doc"
    await client.set(key, orjson.dumps(document), px=ttl_ms)
    trivial: str = await client.script_load(TRIVIAL_GET)
    return [
        Candidate(GET, "redis-py GET + orjson.loads", "baseline", _plain_get(client, key)),
        Candidate(
            GET,
            "redis-py EVALSHA(GET) + orjson.loads",
            "reference",
            _evalsha_get(client, trivial, key),
        ),
        Candidate(SET, "redis-py SET PX", "baseline", _plain_set(client, key, document, ttl_ms)),
    ]


async def _diagnostics(
    stack: AsyncExitStack, url: str, settings: Settings, document: Any, concurrency: int
) -> list[Candidate]:
    """Rows that split our overhead: driver socket_timeout, and our scripts' server cost."""
    timed = raw_client(url, settings, concurrency, socket_timeout=True)
    stack.push_async_callback(timed.aclose)
    plain = raw_client(url, settings, concurrency, socket_timeout=False)
    stack.push_async_callback(plain.aclose)
    ttl_ms = settings.project_data_ttl.milliseconds
    payload = orjson.dumps(document)
    key, entry = _RAW + "doc", _RAW + "entry"
    await plain.hset(entry, mapping={"d": payload, "ac": 0})
    get_sha: str = await plain.script_load(_lua_source("project_get"))
    set_sha: str = await plain.script_load(_lua_source("project_set"))
    set_keys = (_RAW + "setentry", _RAW + "index", _RAW + "tags", _RAW + "fills")

    async def set_script() -> bool:
        args = (orjson.dumps(document), ttl_ms, "", "", "")  # no tags, no fill token
        try:
            stored, _ = await plain.evalsha(set_sha, len(set_keys), *set_keys, *args)
        except (RedisError, OSError):
            return False
        return bool(stored)

    return [
        Candidate(GET, "redis-py GET + orjson.loads +socket_timeout", "reference",
                  _plain_get(timed, key)),
        Candidate(GET, "redis-py EVALSHA(project_get.lua) + orjson.loads", "reference",
                  _evalsha_get(plain, get_sha, entry)),
        Candidate(SET, "redis-py SET PX +socket_timeout", "reference",
                  _plain_set(timed, key, document, ttl_ms)),
        Candidate(SET, "redis-py EVALSHA(project_set.lua)", "reference", set_script),
    ]  # fmt: skip


async def _instrumented(
    stack: AsyncExitStack, settings: Settings, document: Any, project_id: uuid.UUID | str
) -> list[Candidate]:
    """jeex-cache with an OpenTelemetry SDK installed: a span and two metric points a call
    (recorded, not exported), to measure what instrumentation costs when it is on."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    manager = await stack.enter_async_context(
        CacheManager(settings, tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    )
    await manager.cache_project_data(project_id, document)

    async def get() -> bool:
        return await manager.get_project_data(project_id) is not None

    async def put() -> bool:
        return await manager.cache_project_data(project_id, document)

    label = "jeex-cache + OpenTelemetry SDK"
    return [Candidate(GET, label, "reference", get), Candidate(SET, label, "reference", put)]


async def open_candidates(
    stack: AsyncExitStack,
    url: str,
    settings: Settings,
    document: Any,
    concurrency: int,
    *,
    project_id: uuid.UUID | str = PROJECT_ID,
    diagnostics: bool = True,
) -> tuple[list[Candidate], list[str]]:
    """Connect every candidate (closed with ``stack``), seed its key; return them and notes."""
    candidates = await _ours(stack, settings, document, project_id)
    candidates += await _raw(stack, url, settings, document, concurrency)
    for candidate in candidates:
        if not await candidate.call():
            raise RuntimeError(f"{candidate.key} failed before the benchmark started")
    notes: list[str] = []
    try:
        candidates += await _instrumented(stack, settings, document, project_id)
    except ImportError:
        notes.append("OpenTelemetry SDK rows skipped: pip install opentelemetry-sdk")
    if diagnostics:
        try:
            extra = await _diagnostics(stack, url, settings, document, concurrency)
            for candidate in extra:
                if not await candidate.call():
                    raise RuntimeError(f"{candidate.implementation} failed")
            candidates += extra
        except Exception as exc:  # diagnostics are optional: report, keep going
            notes.append(f"diagnostic rows skipped: {type(exc).__name__}: {exc}")
    order = {GET: 0, SET: 1}
    candidates.sort(key=lambda c: order[c.operation])
    return candidates, notes
