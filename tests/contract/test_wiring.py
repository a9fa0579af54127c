"""The mixins' capabilities are the one registry: every package's ``wiring.py`` is in it, and
``initialize()`` builds each registered repository and service on either backend."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

import jeex_cache
from jeex_cache import CacheManager, NotInitializedError, Settings
from jeex_cache._base import ManagerBase
from jeex_cache.backends import Backend, Capability
from jeex_cache.core.clock import ManualClock
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.manager import CAPABILITIES

PACKAGE = Path(jeex_cache.__file__).parent


def _wirings() -> dict[str, Capability[Any, Any]]:
    """Every ``Capability`` declared in a ``<package>/wiring.py``, by its name."""
    found: dict[str, Capability[Any, Any]] = {}
    for path in sorted(PACKAGE.glob("*/wiring.py")):
        module = importlib.import_module(f"jeex_cache.{path.parent.name}.wiring")
        for value in vars(module).values():
            if isinstance(value, Capability):
                found[value.name] = value
    return found


def test_every_wiring_module_is_registered_once() -> None:
    wirings = _wirings()
    registered = CAPABILITIES
    assert registered == CacheManager.capabilities()
    assert len(wirings) == 6
    assert {c.name for c in registered} == set(wirings)
    assert all(wirings[c.name] is c for c in registered)
    assert len({c.attribute for c in registered}) == len(registered)


async def test_each_backend_builds_every_registered_repository(manager: CacheManager) -> None:
    backend = manager._require()
    registered = CacheManager.capabilities()
    assert set(backend.repositories) == {c.name for c in registered}
    build = "memory" if backend.executor is None else "redis"
    for capability in registered:
        repository = backend.repository(capability)
        assert type(repository).__module__.endswith(f".{build}")
        assert capability.of(manager) is vars(manager)[capability.attribute]


async def test_services_exist_only_between_initialize_and_close(settings: Settings) -> None:
    cache = CacheManager(settings, clock=ManualClock())
    with pytest.raises(NotInitializedError):
        await cache.validate_user_session("s" * 43)
    await cache.initialize()
    await cache.close()
    assert not {c.attribute for c in CacheManager.capabilities()} & set(vars(cache))
    with pytest.raises(NotInitializedError):
        cache.rate_limit_policy()


class _Counter:
    """A toy capability's repository and service in one."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.count = 0


def _service(repository: _Counter, backend: Backend, runtime: OperationRuntime) -> _Counter:
    repository.count += 1
    return repository


_COUNTER = Capability("counter", _Counter, _Counter, _service)


class _CounterAPI(ManagerBase):
    _counter = _COUNTER

    def counted(self) -> int:
        return self._counter.count


class _Extended(CacheManager, _CounterAPI):
    """A new capability: one line, its mixin in the bases."""


async def test_a_new_mixin_is_wired_on_either_backend(settings: Settings) -> None:
    async with _Extended(settings, clock=ManualClock()) as cache:
        assert _COUNTER in _Extended.capabilities()
        assert cache.counted() == 1
        counter = cache._require().repository(_COUNTER)
        assert counter.backend is cache._require()
        assert await cache.validate_user_session("s" * 43) is None  # the others still wired
