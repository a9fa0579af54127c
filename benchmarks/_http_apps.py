"""The two apps ``benchmarks.http`` serves: one cached route, on jeex-cache or fastapi-cache2.

Both answer ``GET /projects/{project_id}/report`` with the same JSON after a 20 ms "query",
cached 60 s in the Redis of ``BENCH_REDIS_URL``, and count the route's calls
(``GET /calls``). Run by uvicorn in a process of its own: ``benchmarks._http_apps:jeex`` or
``benchmarks._http_apps:fastapi_cache``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from fastapi import FastAPI

from jeex_cache import CacheManager, Settings
from jeex_cache.fastapi import cached, install, lifespan

__all__ = ["QUERY_SECONDS", "fastapi_cache_app", "jeex_app"]

QUERY_SECONDS = 0.02
CALLS = {"report": 0}


def _report(project_id: UUID) -> dict[str, Any]:
    return {"project": str(project_id), "rows": [{"n": n, "label": f"row {n}"} for n in range(20)]}


def _count_calls(app: FastAPI) -> None:
    @app.get("/calls")
    async def calls() -> dict[str, int]:
        return CALLS


def jeex_app() -> FastAPI:
    """The route under ``@cached`` (shared by the project's users: no session to check)."""
    manager = CacheManager(Settings(redis_url=os.environ["BENCH_REDIS_URL"]))
    app = FastAPI(lifespan=lifespan(manager))
    install(app, manager)

    @app.get("/projects/{project_id}/report")
    @cached(60, per_user=False)
    async def report(project_id: UUID) -> dict[str, Any]:
        CALLS["report"] += 1
        await asyncio.sleep(QUERY_SECONDS)
        return _report(project_id)

    _count_calls(app)
    return app


def fastapi_cache_app() -> FastAPI:
    """The route under fastapi-cache2's ``@cache`` on its Redis backend."""
    from fastapi_cache import FastAPICache
    from fastapi_cache.backends.redis import RedisBackend
    from fastapi_cache.decorator import cache
    from redis.asyncio import Redis

    @asynccontextmanager
    async def setup(app: FastAPI) -> AsyncIterator[None]:
        client = Redis.from_url(os.environ["BENCH_REDIS_URL"])
        FastAPICache.init(RedisBackend(client), prefix="fastapi-cache")
        yield
        await client.aclose()

    app = FastAPI(lifespan=setup)

    @app.get("/projects/{project_id}/report")
    @cache(expire=60)
    async def report(project_id: UUID) -> dict[str, Any]:
        CALLS["report"] += 1
        await asyncio.sleep(QUERY_SECONDS)
        return _report(project_id)

    _count_calls(app)
    return app
