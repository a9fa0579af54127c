"""The user session contract: every test runs on the memory backend and on real Redis."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from uuid import UUID, uuid4

import pytest

from jeex_cache import (
    TTL,
    AccessDenied,
    CacheManager,
    InvalidIdentifierError,
    InvalidInputError,
    ManualClock,
    PayloadTooLargeError,
    SerializationError,
    Settings,
)
from tests.conftest import Elapse, eventually

MAX_PER_USER = 3
# Seconds, for the `short` manager's expiry tests. On Redis they pass in real time, so every
# step (STEP) leaves a second of margin before the idle timeout.
IDLE, LIFETIME, STEP = 1.5, 5.0, 0.5
# The expiry tests wait in real time on Redis: they run on one Redis topology (the scripts
# are the same on all three), beside the memory backend's exact clock.
REAL_TIME = pytest.mark.parametrize("backend", ["memory", "redis"], indirect=True)
USER_DATA = {"name": "John Doe", "email": "john@example.com", "roles": ["admin", 1, None]}


def backend_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    return None if backend == "memory" else request.getfixturevalue("redis_url")


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    """Long lifetimes (nothing expires by accident) and a cap of three sessions per user."""
    return Settings(
        redis_url=backend_url(backend, request),
        cache_user_session_ttl=600,
        cache_session_absolute_ttl=3_600,
        cache_max_sessions_per_user=MAX_PER_USER,
        cache_session_max_data_bytes=1_000,
    )


@pytest.fixture
async def short(
    backend: str, request: pytest.FixtureRequest, clock: ManualClock
) -> AsyncIterator[CacheManager]:
    """A manager whose sessions idle out after ``IDLE`` s and end ``LIFETIME`` s after
    creation (a test may ask for another lifetime by indirect parametrization)."""
    settings = Settings(
        redis_url=backend_url(backend, request),
        cache_user_session_ttl=IDLE,
        cache_session_absolute_ttl=getattr(request, "param", LIFETIME),
    )
    async with CacheManager(settings, clock=clock) as cache:
        yield cache


async def new_session_id(manager: CacheManager, *projects: UUID, user: UUID | None = None) -> str:
    session = await manager.create_user_session(user or uuid4(), USER_DATA, projects)
    assert session is not None
    assert session.session_id is not None
    return session.session_id


# -- issue and validate -------------------------------------------------------------------------


async def test_create_then_validate(manager: CacheManager) -> None:
    user, projects = uuid4(), [uuid4(), uuid4()]
    session = await manager.create_user_session(
        user_id=user, user_data=USER_DATA, project_access=projects
    )
    assert session is not None
    assert session.session_id is not None
    assert (session.user_id, session.user_data) == (user, USER_DATA)
    assert session.project_access == frozenset(projects)
    assert session.created_at == session.last_activity
    lifetime = (session.absolute_expires_at - session.created_at).total_seconds()
    assert lifetime == pytest.approx(3_600, abs=0.01)
    assert (session.expires_at - session.created_at).total_seconds() == pytest.approx(600, abs=0.01)

    valid = await manager.validate_user_session(session.session_id)
    assert valid is not None
    assert valid.session_id == session.session_id
    assert valid.session_hash == session.session_hash
    assert (valid.user_id, valid.user_data, valid.project_access) == (
        user,
        USER_DATA,
        frozenset(projects),
    )
    assert valid.created_at == session.created_at
    assert valid.last_activity >= session.last_activity
    assert session.session_id not in repr(valid)
    assert "john@example.com" not in repr(valid)  # user data is the application's: no repr
    assert "john@example.com" not in repr(session)


async def test_ids_carry_256_bits_and_are_url_safe(manager: CacheManager) -> None:
    ids = [await new_session_id(manager) for _ in range(20)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", sid) for sid in ids)  # 43 * 6 bits >= 256


@pytest.mark.parametrize(
    "session_id",
    [
        "",
        "short",
        "A" * 43,  # well-formed but never issued: strict mode, never adopted
        "A" * 44,
        "A" * 100_000,
        "has space" + "A" * 34,
        "{sess}:*" + "A" * 35,
        "A" * 42 + "\n",
        None,
        42,
    ],
)
async def test_ids_never_issued_get_none_or_a_denial(
    manager: CacheManager, session_id: object
) -> None:
    project = uuid4()
    sid: str = session_id  # type: ignore[assignment]
    assert await manager.validate_user_session(sid) is None
    assert await manager.extend_session(sid) is None
    assert await manager.rotate_session(sid) is None
    assert await manager.grant_project_access(sid, project) is False
    assert await manager.revoke_project_access(sid, project) is False
    assert await manager.update_session_data(sid, {"a": 1}) is False
    assert await manager.revoke_user_session(sid) is False
    assert await manager.has_project_access(sid, project) is False
    with pytest.raises(AccessDenied) as denied:
        await manager.for_session(sid).get_project_data(project)
    assert denied.value.reason == AccessDenied.INVALID_SESSION
    assert not manager.failure_tracker.failures  # none of this was a backend failure


async def test_revoked_session_is_dead_at_once(manager: CacheManager) -> None:
    sid = await new_session_id(manager)
    assert await manager.revoke_user_session(sid, "logout") is True
    assert await manager.validate_user_session(sid) is None
    assert await manager.revoke_user_session(sid, "again") is False


# -- expiry: idle timeout, absolute cap, extension ----------------------------------------------


@REAL_TIME
async def test_validation_slides_the_idle_expiry(short: CacheManager, elapse: Elapse) -> None:
    sid = await new_session_id(short)
    for _ in range(4):  # past the idle timeout in all, kept alive by activity
        await elapse(STEP)
        session = await short.validate_user_session(sid)
        assert session is not None
        idle = (session.expires_at - session.last_activity).total_seconds()
        assert idle == pytest.approx(IDLE, abs=0.01)  # both from one reading of the clock
    await elapse(IDLE + STEP)  # idle for longer than the timeout, within the lifetime
    assert await short.validate_user_session(sid) is None


@REAL_TIME
async def test_access_checks_count_as_activity(short: CacheManager, elapse: Elapse) -> None:
    project = uuid4()
    sid = await new_session_id(short, project)
    for _ in range(4):  # past the idle timeout in all
        await elapse(STEP)
        assert await short.has_project_access(sid, project)


@REAL_TIME
@pytest.mark.parametrize("short", [2 * STEP + 1.0], indirect=True)  # a lifetime of 2 s
async def test_absolute_lifetime_caps_activity_and_extension(
    short: CacheManager, elapse: Elapse, backend: str
) -> None:
    sid = await new_session_id(short)
    for _ in range(2):
        await elapse(STEP)
        assert await short.validate_user_session(sid) is not None
    extended = await short.extend_session(sid, TTL.hours(8))
    assert extended is not None
    assert extended.expires_at == extended.absolute_expires_at  # capped, not 8 hours
    # Past the lifetime, though active (validations would slide an idle expiry).
    if backend == "memory":
        await elapse(1.0 + 0.01)
        assert await short.validate_user_session(sid) is None
    else:
        await eventually(lambda: is_none(short.validate_user_session(sid)))
    assert await short.extend_session(sid) is None


async def is_none(read: Awaitable[object]) -> bool:
    return await read is None


async def test_extension_outlasts_later_validations(manager: CacheManager) -> None:
    sid = await new_session_id(manager)
    extended = await manager.extend_session(sid, TTL.minutes(30))
    assert extended is not None
    assert (extended.expires_at - extended.last_activity).total_seconds() == pytest.approx(
        1_800, abs=0.01
    )
    later = await manager.validate_user_session(sid)
    assert later is not None
    assert later.expires_at >= extended.expires_at  # the 10-minute idle timeout did not shrink it


# -- sessions per user --------------------------------------------------------------------------


async def test_one_session_over_the_cap_evicts_the_oldest(manager: CacheManager) -> None:
    user, neighbour = uuid4(), uuid4()
    other = await new_session_id(manager, user=neighbour)
    ids = [await new_session_id(manager, user=user) for _ in range(MAX_PER_USER + 1)]
    assert await manager.validate_user_session(ids[0]) is None
    for sid in ids[1:]:
        assert await manager.validate_user_session(sid) is not None
    listed = await manager.list_user_sessions(user)
    assert len(listed) == MAX_PER_USER
    assert all(session.session_id is None for session in listed)
    created = [await manager.validate_user_session(sid) for sid in ids[1:]]
    assert [s.fingerprint for s in listed] == [s.fingerprint for s in created if s]
    assert await manager.validate_user_session(other) is not None


async def test_eviction_counts_only_live_sessions(manager: CacheManager) -> None:
    user = uuid4()
    first, second, third = [await new_session_id(manager, user=user) for _ in range(3)]
    assert await manager.revoke_user_session(second)
    fourth = await new_session_id(manager, user=user)
    for sid in (first, third, fourth):
        assert await manager.validate_user_session(sid) is not None


async def test_revoke_all_ends_every_session_of_one_user(manager: CacheManager) -> None:
    user, neighbour = uuid4(), uuid4()
    ids = [await new_session_id(manager, user=user) for _ in range(3)]
    other = await new_session_id(manager, user=neighbour)
    assert await manager.revoke_all_user_sessions(user, "password changed") == 3
    assert all([await manager.validate_user_session(sid) is None for sid in ids])
    assert await manager.list_user_sessions(user) == []
    assert await manager.validate_user_session(other) is not None
    assert await manager.revoke_all_user_sessions(user) == 0


# -- rotation -----------------------------------------------------------------------------------


async def test_rotation_keeps_the_session_under_a_new_id(manager: CacheManager) -> None:
    user, project = uuid4(), uuid4()
    old = await manager.create_user_session(user, USER_DATA, [project])
    assert old is not None
    assert old.session_id is not None
    rotated = await manager.rotate_session(old.session_id)
    assert rotated is not None
    assert rotated.session_id is not None
    assert rotated.session_id != old.session_id
    assert rotated.session_hash != old.session_hash
    assert await manager.validate_user_session(old.session_id) is None  # dead at once
    assert await manager.rotate_session(old.session_id) is None
    current = await manager.validate_user_session(rotated.session_id)
    assert current is not None
    assert (current.user_id, current.user_data, current.project_access) == (
        user,
        USER_DATA,
        frozenset([project]),
    )
    assert current.created_at == old.created_at
    assert current.absolute_expires_at == old.absolute_expires_at  # rotation never extends it
    assert [s.fingerprint for s in await manager.list_user_sessions(user)] == [current.fingerprint]


# -- project access -----------------------------------------------------------------------------


async def test_session_view_allows_only_listed_projects(manager: CacheManager) -> None:
    mine, theirs = uuid4(), uuid4()
    await manager.cache_project_data(theirs, {"secret": True})
    sid = await new_session_id(manager, mine)
    view = manager.for_session(sid)
    assert await view.cache_project_data(mine, {"v": 1}) is True
    assert await view.get_project_data(mine) == {"v": 1}
    entry = await view.get_project_entry(mine)
    assert entry is not None
    assert entry.version == 1
    assert (await view.write_project_data(mine, {"v": 2})).stored
    assert await view.list_project_keys(mine) == [f"proj:{{{mine}}}:data"]
    assert await view.delete_project_data(mine) is True
    for operation in (
        lambda: view.get_project_data(theirs),
        lambda: view.get_project_entry(theirs),
        lambda: view.cache_project_data(theirs, {"secret": False}),
        lambda: view.write_project_data(theirs, {"secret": False}),
        lambda: view.delete_project_data(theirs),
        lambda: view.invalidate_project_cache(theirs),
        lambda: view.list_project_keys(theirs),
        lambda: view.project(theirs).get("x"),
    ):
        with pytest.raises(AccessDenied) as denied:
            await operation()
        assert denied.value.reason == AccessDenied.PROJECT_NOT_GRANTED
    assert await manager.get_project_data(theirs) == {"secret": True}


async def test_grant_and_revoke_apply_to_the_next_call(manager: CacheManager) -> None:
    project = uuid4()
    sid = await new_session_id(manager)
    entries = manager.for_session(sid).project(project)
    with pytest.raises(AccessDenied):
        await entries.set("a", 1)
    assert await manager.grant_project_access(sid, project) is True
    assert (await entries.set("a", 1, tags=["t"])).stored
    assert await entries.get("a") == 1
    assert await entries.keys() == ["a"]
    assert await manager.revoke_project_access(sid, project) is True
    assert await manager.revoke_project_access(sid, project) is False
    with pytest.raises(AccessDenied) as denied:
        await entries.get("a")
    assert denied.value.reason == AccessDenied.PROJECT_NOT_GRANTED
    assert await manager.project(project).get("a") == 1  # denied, not deleted


async def test_view_denies_once_the_session_is_revoked(manager: CacheManager) -> None:
    project = uuid4()
    sid = await new_session_id(manager, project)
    view = manager.for_session(sid)
    assert await view.get_project_data(project) is None
    await manager.revoke_user_session(sid, "logout")
    with pytest.raises(AccessDenied) as denied:
        await view.get_project_data(project)
    assert denied.value.reason == AccessDenied.INVALID_SESSION
    assert await manager.grant_project_access(sid, project) is False  # no zombie record


async def test_tag_invalidation_through_a_session_stays_in_its_projects(
    manager: CacheManager,
) -> None:
    mine, also_mine, theirs = uuid4(), uuid4(), uuid4()
    for project in (mine, also_mine, theirs):
        await manager.cache_project_data(project, 1, tags=["pricing"])
    sid = await new_session_id(manager, mine, also_mine)
    assert await manager.for_session(sid).invalidate_by_tag("pricing") == 2
    assert await manager.get_project_data(theirs) == 1
    with pytest.raises(InvalidIdentifierError):
        await manager.for_session(sid).invalidate_by_tag("bad tag")


# -- concurrent updates and user data -----------------------------------------------------------


async def test_concurrent_updates_of_one_session_all_land(manager: CacheManager) -> None:
    sid = await new_session_id(manager)
    projects = [uuid4() for _ in range(20)]
    await asyncio.gather(
        *(manager.grant_project_access(sid, p) for p in projects),
        *(manager.update_session_data(sid, {f"k{i}": i}) for i in range(20)),
        *(manager.validate_user_session(sid) for _ in range(20)),
    )
    session = await manager.validate_user_session(sid)
    assert session is not None
    assert session.project_access == frozenset(projects)
    assert session.user_data == {**USER_DATA, **{f"k{i}": i for i in range(20)}}


async def test_user_data_updates_keep_other_keys_and_respect_the_limit(
    manager: CacheManager,
) -> None:
    sid = await new_session_id(manager)
    assert await manager.update_session_data(sid, {"name": "Jane", "theme": "dark"}) is True
    with pytest.raises(PayloadTooLargeError, match="CACHE_SESSION_MAX_DATA_BYTES"):
        await manager.update_session_data(sid, {"blob": "x" * 950})  # over 1,000 bytes in all
    session = await manager.validate_user_session(sid)
    assert session is not None
    assert session.user_data == {**USER_DATA, "name": "Jane", "theme": "dark"}
    with pytest.raises(SerializationError):
        await manager.update_session_data(sid, {"bad": {1, 2}})


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "user_data", "projects", "error"),
    [
        ("not a uuid", {}, [], InvalidIdentifierError),
        (-42, {}, [], InvalidIdentifierError),
        ("USER", {"s": {1, 2}}, [], SerializationError),
        ("USER", {1: "non-string key"}, [], SerializationError),
        ("USER", ["not", "a", "dict"], [], InvalidInputError),
        ("USER", {"blob": "x" * 1_000}, [], PayloadTooLargeError),
        ("USER", {}, ["not a uuid"], InvalidIdentifierError),
        ("USER", {}, [str(i) for i in range(1_001)], InvalidInputError),  # too many
    ],
)
async def test_bad_input_is_a_typed_error_and_stores_nothing(
    manager: CacheManager, user_id: object, user_data: object, projects: object, error: type
) -> None:
    user = uuid4()
    with pytest.raises(error):
        await manager.create_user_session(
            user if user_id == "USER" else user_id,  # type: ignore[arg-type]
            user_data,  # type: ignore[arg-type]
            projects,  # type: ignore[arg-type]
        )
    assert await manager.list_user_sessions(user) == []


async def test_too_many_projects_are_refused(manager: CacheManager) -> None:
    with pytest.raises(InvalidInputError, match="at most 1000"):
        await manager.create_user_session(uuid4(), {}, [uuid4() for _ in range(1_001)])


# -- audit --------------------------------------------------------------------------------------


async def test_audit_records_every_event_without_the_raw_id(
    manager: CacheManager, caplog: pytest.LogCaptureFixture
) -> None:
    user, project, other = uuid4(), uuid4(), uuid4()
    with caplog.at_level(logging.INFO, logger="jeex_cache.audit"):
        session = await manager.create_user_session(user, USER_DATA, [project])
        assert session is not None
        assert session.session_id is not None
        sid = session.session_id
        await manager.validate_user_session("B" * 43)
        await manager.grant_project_access(sid, other)
        await manager.revoke_project_access(sid, other)
        with pytest.raises(AccessDenied):
            await manager.for_session(sid).get_project_data(other)
        rotated = await manager.rotate_session(sid)
        assert rotated is not None
        assert rotated.session_id is not None
        await manager.revoke_user_session(rotated.session_id, "logout")
    records = [r for r in caplog.records if r.name == "jeex_cache.audit"]
    events = [getattr(r, "audit") for r in records]  # noqa: B009
    assert events == [
        "session.created",
        "session.validate_failed",
        "session.access_granted",
        "session.access_revoked",
        "session.access_denied",
        "session.rotated",
        "session.revoked",
    ]
    for record in records:
        text = record.getMessage() + repr(vars(record))
        assert sid not in text
        assert rotated.session_id not in text
        assert "B" * 43 not in text
    assert records[0].user_id == str(user)  # type: ignore[attr-defined]
    assert records[0].session == session.fingerprint  # type: ignore[attr-defined]
    assert records[4].project_id == str(other)  # type: ignore[attr-defined]
