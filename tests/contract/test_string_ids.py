"""Project and user IDs that are strings (a slug) or ints (a primary key), on every backend.

Strings are exact: project "1" and project "01" never meet, nor does either meet a UUID
project. A UUID's text in any case, and an int and its decimal string, name one ID.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import uuid4

import pytest

from jeex_cache import AccessDenied, CacheManager, InvalidIdentifierError, RateLimitConfig

SLUG = "acme.eu-2"


async def test_project_1_and_project_01_keep_their_own_cache(manager: CacheManager) -> None:
    uid = uuid4()
    for project, data in (("1", "one"), ("01", "oh-one"), (uid, "uuid"), (SLUG, "slug")):
        await manager.cache_project_data(project, data, tags=["shared"])
        await manager.project(project).set("entry", f"{data}'s entry", tags=["shared"])
    assert await manager.get_project_data(1) == "one"  # the int is its decimal string
    assert await manager.get_project_data("01") == "oh-one"
    assert await manager.get_project_data(str(uid).upper()) == "uuid"  # one UUID, one project
    assert await manager.project(SLUG).get("entry") == "slug's entry"
    many = await manager.get_many_project_data(["1", "01", uid, SLUG, "001"])
    assert many == {"1": "one", "01": "oh-one", uid: "uuid", SLUG: "slug"}

    assert await manager.invalidate_project_cache("1", "deleted") == 2
    assert await manager.get_project_data("1") is None
    assert await manager.get_project_data("01") == "oh-one"
    assert await manager.project("01").keys() == ["entry"]
    assert await manager.invalidate_tag_in_projects("shared", ["01", SLUG, 1]) == 4
    assert await manager.get_project_data(uid) == "uuid"
    assert await manager.invalidate_by_tag("shared") == 2  # the UUID project's, across projects
    assert await manager.get_many_project_data(["1", "01", uid, SLUG]) == {}


async def test_loads_of_string_projects_stay_apart(manager: CacheManager) -> None:
    calls: list[str] = []

    def loader(value: str) -> Callable[[], Awaitable[str]]:
        async def load() -> str:
            calls.append(value)
            return value

        return load

    for project in ("7", "07", "7", "07"):
        await manager.get_or_load_project_data(project, loader(f"data of {project}"), 60)
    assert calls == ["data of 7", "data of 07"]
    assert await manager.project(7).get_or_load("x", loader("x of 7"), 60) == "x of 7"
    assert await manager.project("07").get_or_load("x", loader("x of 07"), 60) == "x of 07"


async def test_sessions_of_string_users_with_string_projects(manager: CacheManager) -> None:
    uid = uuid4()
    session = await manager.create_user_session("u1", {"name": "Ada"}, ["1", uid])
    assert session is not None
    assert session.session_id is not None
    sid = session.session_id
    assert session.user_id == "u1"
    assert session.project_access == frozenset({"1", uid})

    valid = await manager.validate_user_session(sid)
    assert valid is not None
    assert (valid.user_id, valid.project_access) == ("u1", frozenset({"1", uid}))
    assert valid.can_access("1")
    assert valid.can_access(1)
    assert valid.can_access(str(uid).upper())
    assert not valid.can_access("01")
    assert await manager.has_project_access(sid, 1) is True
    assert await manager.has_project_access(sid, "01") is False
    assert await manager.require_project_access(sid, "1") == "u1"
    with pytest.raises(AccessDenied):
        await manager.require_project_access(sid, "01")
    with pytest.raises(AccessDenied):
        await manager.for_session(sid).get_project_data("01")

    assert await manager.grant_project_access(sid, "01") is True
    assert await manager.has_project_access(sid, "01") is True
    assert await manager.revoke_project_access(sid, "1") is True
    assert await manager.has_project_access(sid, "1") is False
    granted = await manager.validate_user_session(sid)
    assert granted is not None
    assert granted.project_access == frozenset({"01", uid})


async def test_string_users_are_exact_and_int_users_are_their_decimal(
    manager: CacheManager,
) -> None:
    ada = await manager.create_user_session("u1", None, [])
    other = await manager.create_user_session("U1", None, [])
    keyed = await manager.create_user_session(42, None, ["42"])
    assert ada is not None
    assert other is not None
    assert keyed is not None
    assert keyed.user_id == "42"
    assert [s.fingerprint for s in await manager.list_user_sessions("42")] == [keyed.fingerprint]
    assert [s.fingerprint for s in await manager.list_user_sessions(42)] == [keyed.fingerprint]
    assert await manager.revoke_all_user_sessions("u1", "password changed") == 1
    assert ada.session_id is not None
    assert other.session_id is not None
    assert await manager.validate_user_session(ada.session_id) is None
    assert await manager.validate_user_session(other.session_id) is not None
    assert [s.user_id for s in await manager.list_user_sessions("U1")] == ["U1"]


async def test_rate_limits_by_string_user_and_project(manager: CacheManager) -> None:
    one = RateLimitConfig(requests_per_window=1, window_seconds=60)
    assert (await manager.check_rate_limit("u1", "user", one))["allowed"] is True
    assert (await manager.check_rate_limit("u1", "user", one))["allowed"] is False
    assert (await manager.check_rate_limit("U1", "user", one))["allowed"] is True  # exact

    assert (await manager.check_rate_limit(1, "project", one))["allowed"] is True
    assert (await manager.check_rate_limit("1", "project", one))["allowed"] is False  # the same
    assert (await manager.check_rate_limit("01", "project", one))["allowed"] is True
    uid = uuid4()
    assert (await manager.check_rate_limit(uid, "project", one))["allowed"] is True
    upper = str(uid).upper()
    assert (await manager.check_rate_limit(upper, "project", one))["allowed"] is False
    assert (await manager.check_rate_limit(7, "user", one))["allowed"] is True
    assert (await manager.check_rate_limit("7", "user", one))["allowed"] is False


async def test_progress_of_string_projects_is_scoped(manager: CacheManager) -> None:
    uid = uuid4()
    for project, total in (("1", 10), ("01", 20), (uid, 30)):
        started = await manager.start_progress_tracking("job", total, project_id=project)
        assert started.applied
    assert (await manager.update_progress("job", 4, project_id=1)).applied
    one = await manager.get_progress("job", project_id="1")
    oh_one = await manager.get_progress("job", project_id="01")
    by_uuid = await manager.get_progress("job", project_id=str(uid).upper())
    assert one is not None
    assert oh_one is not None
    assert by_uuid is not None
    assert (one["total_steps"], one["current_step"], one["project_id"]) == (10, 4, "1")
    assert (oh_one["total_steps"], oh_one["current_step"]) == (20, 0)
    assert by_uuid["total_steps"] == 30
    assert await manager.get_progress("job") is None
    assert await manager.get_progress("job", project_id="001") is None
    assert await manager.get_progress(one["correlation_id"]) == one  # the scoped ID is a name
    assert one["correlation_id"] == "@1@job"
    with pytest.raises(InvalidIdentifierError):
        await manager.get_progress("@1@job", project_id="01")


async def test_tasks_of_string_projects_are_scoped(manager: CacheManager) -> None:
    id_1 = await manager.enqueue_task("q", "report", "of 1", task_id="r-1", project_id="1")
    id_01 = await manager.enqueue_task("q", "report", "of 01", task_id="r-1", project_id="01")
    id_uuid = await manager.enqueue_task("q", "report", "of uuid", task_id="r-1",
                                         project_id=uuid4())  # fmt: skip
    assert len({id_1, id_01, id_uuid}) == 3
    assert id_1 == "@1@r-1"
    task_1 = await manager.get_task_status("r-1", project_id=1)
    task_01 = await manager.get_task_status("r-1", project_id="01")
    assert task_1 is not None
    assert task_01 is not None
    assert (task_1.payload, task_1.project_id) == ("of 1", "1")
    assert (task_01.payload, task_01.project_id) == ("of 01", "01")
    assert await manager.get_task_status("r-1") is None
    assert await manager.get_task_status(id_01) == task_01
    assert await manager.get_task_status("r-1", project_id="001") is None
    with pytest.raises(InvalidIdentifierError):
        await manager.get_task_status(id_1, project_id="01")
    assert await manager.cancel_task("r-1", project_id="01") is True
    task_1_again = await manager.get_task_status("r-1", project_id="1")
    assert task_1_again is not None
    assert task_1_again.status == task_1.status
