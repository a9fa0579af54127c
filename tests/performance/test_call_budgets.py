"""The call-budget guard: each hot operation's Python function calls, counted (not timed) on
memory and on a real redis-server, must stay within 20% of its budget in call_budgets.json.

A count is taken on a warm, steady-state call: first-call caches filled and scripts loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest
from benchmarks._payloads import nested_1kb
from starlette.requests import Request

from jeex_cache import CacheManager, RateLimitConfig, Settings
from jeex_cache.fastapi import cached
from tests.performance._call_count import count_calls, over_budget

Operation = Callable[[], Awaitable[object]]
WARMUP = 20


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    """Memory and a standalone redis-server: the two the counts are budgeted for."""
    name: str = request.param
    return name


async def _get(manager: CacheManager) -> Operation:
    project = uuid4()
    await manager.cache_project_data(project, nested_1kb())
    return lambda: manager.get_project_data(project)


async def _set(manager: CacheManager) -> Operation:
    project, document = uuid4(), nested_1kb()  # floats and nulls: the NaN check runs
    return lambda: manager.cache_project_data(project, document)


async def _validate(manager: CacheManager) -> Operation:
    session = await manager.create_user_session(uuid4(), {"name": "Dana"}, [uuid4()])
    assert session is not None
    assert session.session_id is not None
    session_id = session.session_id
    return lambda: manager.validate_user_session(session_id)


async def _rate_limit(manager: CacheManager) -> Operation:
    config = RateLimitConfig(requests_per_window=1_000_000, window_seconds=60)
    return lambda: manager.check_rate_limit("203.0.113.7", "ip", config)


async def _progress(manager: CacheManager) -> Operation:
    correlation = uuid4()
    assert await manager.start_progress_tracking(correlation, 1_000_000)
    return lambda: manager.increment_progress(correlation, "one more")


async def _cached_route(manager: CacheManager) -> Operation:
    """A ``@cached`` route's hit, its endpoint called as FastAPI calls it (the HTTP stack
    around it is the framework's, not ours): a fresh request each time, the entry warm."""
    project, user = uuid4(), uuid4()
    app = SimpleNamespace(state=SimpleNamespace(jeex_manager=manager))

    @cached(60, tags=["reports"])
    async def report(project_id: UUID, request: Request) -> dict[str, Any]:
        return nested_1kb()

    def request() -> Request:
        return Request({
            "type": "http", "method": "GET", "path": f"/projects/{project}/report",
            "query_string": b"page=1", "headers": [(b"accept", b"application/json")],
            "app": app, "path_params": {"project_id": str(project)},
            "state": {"user_id": user},
        })  # fmt: skip

    return lambda: report(project_id=project, request=request())


OPERATIONS = {
    "get_project_data": _get,
    "cache_project_data": _set,
    "validate_user_session": _validate,
    "check_rate_limit": _rate_limit,
    "increment_progress": _progress,
    "cached_route_hit": _cached_route,
}


@pytest.mark.parametrize("name", OPERATIONS)
async def test_an_operation_stays_within_its_call_budget(
    manager: CacheManager, backend: str, name: str
) -> None:
    operation = await OPERATIONS[name](manager)
    for _ in range(WARMUP):
        await operation()
    problem = over_budget(f"{backend}:{name}", await count_calls(operation))
    assert problem is None, problem


async def test_a_near_cache_hit_stays_within_its_call_budget(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, near_cache_max_bytes=1_000_000)
    async with CacheManager(settings) as manager:
        read = await _get(manager)
        for _ in range(400):  # the near cache serves once its tracking connection is up
            await read()
            if manager.near_cache_stats()["hits"] >= WARMUP:
                break
            await asyncio.sleep(0.01)
        hits = manager.near_cache_stats()["hits"]
        calls = await count_calls(read)
        assert manager.near_cache_stats()["hits"] > hits, "the counted reads were not near hits"
        problem = over_budget("redis:near_cache_hit", calls)
        assert problem is None, problem
