"""Project isolation: nothing done through project A reaches project B, on every backend."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, InvalidIdentifierError
from tests.crafted_ids import CRAFTED_IDS

NAMES = ["a", "b", "data", "index", "tags", "kv", "tag.x", "shared"]
TAGS = ["t1", "t2", "shared"]


async def test_random_operations_on_one_project_never_touch_another(
    manager: CacheManager,
) -> None:
    mine, theirs = uuid4(), uuid4()
    neighbour = manager.project(theirs)
    expected = {name: {"owner": "B", "name": name} for name in NAMES}
    for name, value in expected.items():
        await neighbour.set(name, value, tags=TAGS)
    await manager.cache_project_data(theirs, {"owner": "B"}, tags=TAGS)

    view, rng = manager.project(mine), random.Random(2024)
    for step in range(300):
        name, tag = rng.choice(NAMES), rng.choice(TAGS)
        action = rng.randrange(6)
        if action == 0:
            await view.set(name, {"step": step}, tags=[tag], version=rng.randrange(5))
        elif action == 1:
            await view.delete(name)
        elif action == 2:
            await view.invalidate_tag(tag)
        elif action == 3:
            await manager.cache_project_data(mine, {"step": step}, tags=[tag])
        elif action == 4:
            await manager.delete_project_data(mine)
        else:
            await view.invalidate("random step")

    assert await manager.get_project_data(theirs) == {"owner": "B"}
    assert await neighbour.keys() == sorted(NAMES)
    for name, value in expected.items():
        assert await neighbour.get(name) == value


@pytest.mark.parametrize(
    "crafted",
    [
        "{PROJECT}",
        "../PROJECT",
        "proj:{PROJECT}:data",
        "kv:a",
        "PROJECT}:kv:a",
        "*",
        "a b",
        "a\x00b",
        "a\r\nFLUSHALL",
    ],
)
async def test_names_aimed_at_another_project_are_refused(
    manager: CacheManager, crafted: str
) -> None:
    victim = uuid4()
    await manager.project(victim).set("a", "victim's")
    attacker = manager.project(uuid4())
    name = crafted.replace("PROJECT", str(victim))
    with pytest.raises(InvalidIdentifierError):
        await attacker.set(name, "overwritten")
    with pytest.raises(InvalidIdentifierError):
        await attacker.get(name)
    with pytest.raises(InvalidIdentifierError):
        await attacker.invalidate_tag(name)
    assert await manager.project(victim).get("a") == "victim's"


async def test_invalidating_a_project_keeps_other_projects_tags_working(
    manager: CacheManager,
) -> None:
    first, second = uuid4(), uuid4()
    await manager.cache_project_data(first, 1, tags=["shared"])
    await manager.cache_project_data(second, 2, tags=["shared"])
    assert await manager.invalidate_project_cache(first, "deleted") == 1
    assert await manager.invalidate_by_tag("shared") == 1
    assert await manager.get_project_data(second) is None


@pytest.mark.parametrize("crafted", CRAFTED_IDS, ids=repr)
async def test_crafted_project_and_user_ids_are_refused_everywhere(
    manager: CacheManager, crafted: Any
) -> None:
    victim = "42"
    await manager.cache_project_data(victim, "victim's")
    session = await manager.create_user_session("u1", None, [victim])
    assert session is not None
    sid = session.session_id
    assert sid is not None
    refused: list[Callable[[], Awaitable[object]]] = [
        lambda: manager.cache_project_data(crafted, "overwritten"),
        lambda: manager.get_project_data(crafted),
        lambda: manager.invalidate_project_cache(crafted),
        lambda: manager.project(crafted).set("a", 1),
        lambda: manager.create_user_session(crafted, None, []),
        lambda: manager.create_user_session("u1", None, [crafted]),
        lambda: manager.list_user_sessions(crafted),
        lambda: manager.grant_project_access(sid, crafted),
        lambda: manager.require_project_access(sid, crafted),
        lambda: manager.check_rate_limit(crafted, "project"),
    ]
    if crafted is not None:  # None is the scope of no project, where it is optional
        refused.append(lambda: manager.start_progress_tracking("job", 1, project_id=crafted))
        refused.append(lambda: manager.enqueue_task("q", "t", task_id="r", project_id=crafted))
    for call in refused:
        with pytest.raises(InvalidIdentifierError):
            await call()
    assert await manager.get_project_data(victim) == "victim's"
    assert await manager.has_project_access(sid, victim) is True


async def test_a_uuid_in_another_case_is_the_same_project_and_a_slug_is_exact(
    manager: CacheManager,
) -> None:
    uid, slug = uuid4(), "acme"
    session = await manager.create_user_session("u1", None, [uid, slug])
    assert session is not None
    assert session.session_id is not None
    await manager.cache_project_data(str(uid).upper(), "one project")
    assert await manager.get_project_data(uid) == "one project"  # never two key spaces
    assert await manager.has_project_access(session.session_id, str(uid).upper()) is True
    assert await manager.has_project_access(session.session_id, "ACME") is False
    assert await manager.has_project_access(session.session_id, uid.hex) is True
    assert await manager.get_project_data("ACME") is None
