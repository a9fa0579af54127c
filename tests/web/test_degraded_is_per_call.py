"""A route answers 503 from its own call's result, not from what other requests did.

The manager's failure tracker is process-wide: concurrent requests move it. Each tracker
below lets another request's outcome land right after every record of this request's own
calls, the moment a route that read ``failure_tracker.degraded`` after its call got wrong:
a failure elsewhere turned its miss into a 503, and a success elsewhere turned its outage
into a 404 or, for a rotation, a 401 that logs the user out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from jeex_cache import BackendError, CacheManager, Settings
from jeex_cache.core.runtime import FailureTracker
from jeex_cache.testing import RedisServer
from jeex_cache.web import create_app
from tests.web._serve import serve
from tests.web.conftest import NewProject, log_in


class FailureElsewhere(FailureTracker):
    """Another request's backend failure follows each success recorded here."""

    def __init__(self) -> None:
        super().__init__()
        self.elsewhere()  # an outage seen elsewhere already

    def elsewhere(self) -> None:
        self.failed("elsewhere", "cache_read", "another request", BackendError("elsewhere"))

    def succeeded(self) -> None:
        super().succeeded()
        self.elsewhere()


class SuccessElsewhere(FailureTracker):
    """Another request's success (the backend answered it) follows each failure here."""

    def failed(self, operation: str, family: str, why: str, exc: BackendError) -> None:
        super().failed(operation, family, why, exc)
        self.succeeded()


async def test_a_failure_elsewhere_does_not_turn_answers_into_503(
    client: httpx.AsyncClient, manager: CacheManager, new_project: NewProject
) -> None:
    project = await new_project()
    op = manager.progress_id("op-1", project)  # what GET /progress/{id} takes
    assert await manager.start_progress_tracking(op, 2, project_id=project)
    manager.runtime.tracker = tracker = FailureElsewhere()

    miss = await client.get(f"/projects/{project}/cache")
    assert miss.status_code == 404, miss.text
    deleted = await client.delete(f"/projects/{project}/cache")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"invalidated": 0}
    tagged = await client.post("/tags/pricing/invalidate")
    assert tagged.status_code == 200, tagged.text
    assert tagged.json() == {"invalidated": 0}
    assert (await client.get("/progress/op-unknown")).status_code == 404
    assert (await client.get(f"/progress/{op}")).status_code == 200

    assert tracker.degraded  # all along: the routes did not read it
    assert tracker.failures["elsewhere"] > 5


async def test_a_failure_elsewhere_does_not_turn_a_dead_session_into_503(
    client: httpx.AsyncClient, manager: CacheManager, session_id: str
) -> None:
    assert await manager.revoke_user_session(session_id, "logout")
    manager.runtime.tracker = FailureElsewhere()
    rotated = await client.post("/sessions/me/rotate")
    assert rotated.status_code == 401, rotated.text


@pytest.fixture
async def down_manager() -> AsyncIterator[tuple[CacheManager, RedisServer]]:
    """A manager over a redis-server of this test alone, free to be killed."""
    with RedisServer.start() as server:
        settings = Settings(
            redis_url=server.url,
            redis_socket_timeout=0.3,
            redis_connect_timeout=0.3,
            max_retries=0,
            progress_public=True,
        )
        async with CacheManager(settings) as manager:
            yield manager, server


@pytest.mark.redis_only
async def test_a_success_elsewhere_does_not_hide_an_outage(
    down_manager: tuple[CacheManager, RedisServer],
) -> None:
    manager, server = down_manager
    async with serve(create_app(manager=manager)) as client:
        await log_in(client, uuid4())
        assert await manager.start_progress_tracking("op-public", 2)
        manager.runtime.tracker = SuccessElsewhere()
        server.kill()

        rotated = await client.post("/sessions/me/rotate")
        assert rotated.status_code == 503, rotated.text  # not 401: the user stays logged in
        del client.headers["Authorization"]
        client.cookies.clear()  # anonymous: the progress read is the route's only call
        progress = await client.get("/progress/op-public")
        assert progress.status_code == 503, progress.text  # not 404
    assert not manager.failure_tracker.degraded  # the successes elsewhere reset it
