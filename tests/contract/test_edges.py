"""Numbers and text at their edges, on every backend: the version ceiling, NaN and infinities,
and reasons that could forge a log line."""

from __future__ import annotations

from uuid import uuid4

import pytest

from jeex_cache import CacheManager, InvalidInputError, SerializationError, VersionLimitError
from jeex_cache.project_cache.model import MAX_VERSION


async def test_an_unversioned_write_at_the_ceiling_is_refused(manager: CacheManager) -> None:
    project = uuid4()
    assert (await manager.write_project_data(project, "top", version=MAX_VERSION)).stored
    with pytest.raises(VersionLimitError, match="2\\*\\*53 - 1"):
        await manager.write_project_data(project, "over")
    with pytest.raises(VersionLimitError):
        await manager.cache_project_data(project, "over")
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert (entry.data, entry.version) == ("top", MAX_VERSION)
    # An explicit version is still the owner's way on; so is starting again.
    assert (await manager.write_project_data(project, "same", version=MAX_VERSION)).stored
    await manager.delete_project_data(project)
    assert (await manager.write_project_data(project, "fresh")).version == 1


async def test_the_view_refuses_the_increment_too(manager: CacheManager) -> None:
    view = manager.project(uuid4())
    await view.set("doc", 1, version=MAX_VERSION - 1)
    assert (await view.set("doc", 2)).version == MAX_VERSION
    with pytest.raises(VersionLimitError):
        await view.set("doc", 3)
    assert await view.get("doc") == 2


NON_FINITE = [float("nan"), float("inf"), float("-inf"), {"a": [1, {"b": float("nan")}]}]


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf", "nested"])
async def test_nan_and_infinities_are_refused(manager: CacheManager, value: object) -> None:
    project = uuid4()
    with pytest.raises(InvalidInputError):
        await manager.cache_project_data(project, value)
    with pytest.raises(SerializationError, match="NaN or an infinity"):
        await manager.project(project).set("entry", value)
    assert await manager.get_project_data(project) is None
    assert await manager.list_project_keys(project) == []
    with pytest.raises(InvalidInputError):
        await manager.enqueue_task("q", "job", {"x": value})
    with pytest.raises(InvalidInputError):
        await manager.create_user_session(uuid4(), {"score": value})


async def test_nulls_and_finite_floats_still_pass(manager: CacheManager) -> None:
    project = uuid4()
    value = {"a": None, "b": [1.5, -0.0, 1e308, None]}
    assert await manager.cache_project_data(project, value)
    assert await manager.get_project_data(project) == value


BAD_REASONS = {
    "nel": "logout\x85forged line",
    "line-separator": "logout\u2028forged",
    "paragraph-separator": "logout\u2029forged",
    "newline": "logout\nforged",
    "carriage-return": "logout\rforged",
    "nul": "logout\x00",
    "escape": "\x1b[31mred",
    "c1-control": "a\x9bb",
    "bidi-override": "\u202elogout",
    "too-long": "x" * 201,
}


@pytest.mark.parametrize("reason", BAD_REASONS.values(), ids=BAD_REASONS.keys())
async def test_reasons_that_could_forge_a_log_line_are_refused(
    manager: CacheManager, reason: str
) -> None:
    user = uuid4()
    project = uuid4()
    session = await manager.create_user_session(user, project_access=[project])
    assert session is not None
    assert session.session_id is not None
    await manager.cache_project_data(project, 1, tags=["t"])
    with pytest.raises(InvalidInputError, match="reason"):
        await manager.revoke_user_session(session.session_id, reason)
    with pytest.raises(InvalidInputError, match="reason"):
        await manager.revoke_all_user_sessions(user, reason)
    with pytest.raises(InvalidInputError, match="reason"):
        await manager.invalidate_project_cache(project, reason)
    with pytest.raises(InvalidInputError, match="reason"):
        await manager.invalidate_by_tag("t", reason)
    with pytest.raises(InvalidInputError, match="reason"):
        await manager.invalidate_tag_in_projects("t", [project], reason)
    with pytest.raises(InvalidInputError, match="reason"):
        await manager.project(project).invalidate(reason)
    # Nothing was done: the session lives and the entry is still cached.
    assert await manager.validate_user_session(session.session_id) is not None
    assert await manager.get_project_data(project) == 1


async def test_printable_unicode_reasons_pass(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, 1)
    assert await manager.invalidate_project_cache(project, "Überprüfung — données 改版") == 1
