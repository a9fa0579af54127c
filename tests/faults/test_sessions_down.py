"""Sessions fail closed: with the redis-server stopped, no session is returned and access is
denied; revocations raise rather than pretend. Everything works again once it is back."""

from __future__ import annotations

import logging
from uuid import uuid4

import pytest

from jeex_cache import AccessDenied, BackendError, CacheManager
from jeex_cache.testing import RedisServer


async def test_validation_and_access_fail_closed_while_redis_is_down(
    cache: CacheManager, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    user, project = uuid4(), uuid4()
    session = await cache.create_user_session(user, {"name": "Jane"}, [project])
    assert session is not None
    assert session.session_id is not None
    sid = session.session_id
    view = cache.for_session(sid)
    assert await view.cache_project_data(project, {"a": 1}) is True
    server.kill()

    with caplog.at_level(logging.INFO, logger="jeex_cache"):
        assert await cache.validate_user_session(sid) is None
        assert await cache.extend_session(sid) is None
        assert await cache.rotate_session(sid) is None
        assert await cache.create_user_session(user, {}, [project]) is None
        assert await cache.has_project_access(sid, project) is False
        assert await cache.grant_project_access(sid, uuid4()) is False
        assert await cache.update_session_data(sid, {"b": 2}) is False
        assert await cache.list_user_sessions(user) == []
        for operation in (
            lambda: view.get_project_data(project),
            lambda: view.cache_project_data(project, {"a": 2}),
            lambda: view.project(project).get("x"),
            lambda: view.invalidate_by_tag("t"),
        ):
            with pytest.raises(AccessDenied) as denied:
                await operation()
            assert denied.value.reason == AccessDenied.UNAVAILABLE
        for revocation in (
            lambda: cache.revoke_user_session(sid, "logout"),
            lambda: cache.revoke_project_access(sid, project),
            lambda: cache.revoke_all_user_sessions(user),
        ):
            with pytest.raises(BackendError):
                await revocation()  # type: ignore[no-untyped-call]

    assert cache.failure_tracker.failures["validate_user_session"] == 1
    audit = [r for r in caplog.records if r.name == "jeex_cache.audit"]
    assert any(getattr(r, "reason", None) == "unavailable" for r in audit)
    assert all(sid not in r.getMessage() for r in caplog.records)

    server.restart()  # an empty server: the session did not survive
    assert await cache.validate_user_session(sid) is None
    fresh = await cache.create_user_session(user, {}, [project])
    assert fresh is not None
    assert fresh.session_id is not None
    assert await cache.for_session(fresh.session_id).get_project_data(project) is None
    assert not cache.failure_tracker.degraded


async def test_a_stalled_server_denies_within_the_timeout(
    cache: CacheManager, server: RedisServer
) -> None:
    project = uuid4()
    session = await cache.create_user_session(uuid4(), {}, [project])
    assert session is not None
    assert session.session_id is not None
    server.pause()
    try:
        assert await cache.validate_user_session(session.session_id) is None
        with pytest.raises(AccessDenied):
            await cache.require_project_access(session.session_id, project)
    finally:
        server.resume()
    assert await cache.validate_user_session(session.session_id) is not None
