"""Who may read progress over HTTP, on both backends: a session with access to the project
that owns the operation. Nobody else learns whether the operation exists."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import httpx

from jeex_cache import CacheManager, ManualClock, Settings
from jeex_cache.web import create_app
from tests.web._serve import serve

WAIT = 10.0


async def bearer(manager: CacheManager, *projects: UUID) -> dict[str, str]:
    """The header of a fresh session with access to ``projects``."""
    session = await manager.create_user_session(uuid4(), {}, projects)
    assert session is not None
    assert session.session_id is not None
    return {"Authorization": f"Bearer {session.session_id}"}


def paths(cid: UUID | str) -> list[str]:
    return [f"/progress/{cid}", f"/progress/{cid}/events"]


async def get(
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """``GET path``, bounded: a stream that never ends fails the test instead of hanging it."""
    async with asyncio.timeout(WAIT):
        return await http.get(path, headers=headers)


async def answers(
    http: httpx.AsyncClient, cid: UUID | str, headers: dict[str, str] | None = None
) -> list[tuple[int, str]]:
    """Both endpoints' status and body."""
    responses = [await get(http, path, headers) for path in paths(cid)]
    return [(response.status_code, response.text) for response in responses]


async def test_only_a_session_with_access_to_the_owner_reads_progress(
    anonymous: httpx.AsyncClient, manager: CacheManager
) -> None:
    project = uuid4()
    cid = manager.progress_id(uuid4(), project)
    member, outsider = await bearer(manager, project), await bearer(manager, uuid4())
    unknown = await answers(anonymous, cid, outsider)
    assert [status for status, _ in unknown] == [404, 404]

    await manager.start_progress_tracking(cid, 2, project_id=project)
    # Another project's session gets exactly the answer an unknown operation gets.
    assert await answers(anonymous, cid, outsider) == unknown
    # No session, or one the server never issued: 401, whether the operation exists or not.
    forged = {"Authorization": "Bearer " + "A" * 43}
    for headers in (None, forged):
        for path in paths(cid) + paths(uuid4()):
            response = await get(anonymous, path, headers)
            assert response.status_code == 401, (path, response.text)

    state = await get(anonymous, f"/progress/{cid}", member)
    assert state.status_code == 200, state.text
    assert state.json()["project_id"] == str(project)
    await manager.complete_progress(cid, "done")
    events = await get(anonymous, f"/progress/{cid}/events", member)
    assert events.status_code == 200
    assert events.text.count("\nevent: ") == 2  # started, completed; then the stream ends


async def test_progress_that_no_project_owns_is_read_by_nobody(
    anonymous: httpx.AsyncClient, manager: CacheManager
) -> None:
    cid = uuid4()
    headers = await bearer(manager, uuid4())
    unknown = await answers(anonymous, cid, headers)
    await manager.start_progress_tracking(cid, 2)
    assert await answers(anonymous, cid, headers) == unknown
    assert [status for status, _ in unknown] == [404, 404]


async def test_progress_public_opens_ownerless_progress_only(
    settings: Settings, clock: ManualClock
) -> None:
    opened = settings.model_copy(update={"progress_public": True})
    async with (
        CacheManager(opened, clock=clock) as manager,
        serve(create_app(manager=manager)) as http,
    ):
        ownerless, project = uuid4(), uuid4()
        owned = manager.progress_id(uuid4(), project)
        await manager.start_progress_tracking(ownerless, 2)
        unknown = await answers(http, owned)
        await manager.start_progress_tracking(owned, 2, project_id=project)
        await manager.complete_progress(ownerless)
        assert [status for status, _ in await answers(http, ownerless)] == [200, 200]
        # Owned progress still needs its project: without a session it looks unknown.
        assert await answers(http, owned) == unknown
        assert [status for status, _ in unknown] == [404, 404]
        member = await bearer(manager, project)
        state = await get(http, f"/progress/{owned}", member)
        assert state.status_code == 200
