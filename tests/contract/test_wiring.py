"""``bootstrap.py`` is the one place that wires: it builds every capability's repository on
either backend, and ``initialize()`` stores each service as the manager's typed attribute."""

from __future__ import annotations

import dataclasses

import pytest

from jeex_cache import CacheManager, NotInitializedError, Settings
from jeex_cache.bootstrap import Repositories, Services
from jeex_cache.core.clock import ManualClock
from jeex_cache.manager import _SERVICES


def test_every_service_has_its_attribute() -> None:
    attributes = {f"_{field.name}" for field in dataclasses.fields(Services)}
    assert attributes == set(_SERVICES)


async def test_each_backend_builds_every_repository(manager: CacheManager) -> None:
    backend = manager._require()
    assert set(backend.repositories) == {f.name for f in dataclasses.fields(Repositories)}
    build = "memory" if backend.executor is None else "redis"
    for name, repository in backend.repositories.items():
        module = type(repository).__module__
        if name == "project_cache" and module.endswith(".near_repository"):
            continue  # the Redis repository behind a near cache
        assert module.endswith(f".{build}"), name
    for name in _SERVICES:
        assert name in vars(manager)


async def test_services_exist_only_between_initialize_and_close(settings: Settings) -> None:
    cache = CacheManager(settings, clock=ManualClock())
    with pytest.raises(NotInitializedError):
        await cache.validate_user_session("s" * 43)
    await cache.initialize()
    await cache.close()
    assert not set(_SERVICES) & set(vars(cache))
    with pytest.raises(NotInitializedError):
        cache.rate_limit_policy()
    with pytest.raises(AttributeError):
        cache.no_such_attribute  # type: ignore[attr-defined]  # noqa: B018
