"""How task queues are wired: their repository on each backend, their service over it."""

from __future__ import annotations

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks.memory import MemoryTaskQueueRepository
from jeex_cache.tasks.redis import RedisTaskQueueRepository
from jeex_cache.tasks.repository import TaskQueueRepository
from jeex_cache.tasks.service import TaskQueueService

__all__ = ["TASKS"]


def _memory(backend: Backend) -> TaskQueueRepository:
    return MemoryTaskQueueRepository(backend.clock, backend.budget)


def _redis(backend: Backend) -> TaskQueueRepository:
    assert backend.executor is not None
    return RedisTaskQueueRepository(backend.executor, backend.settings)


def _service(
    repository: TaskQueueRepository, backend: Backend, runtime: OperationRuntime
) -> TaskQueueService:
    settings = backend.settings
    return TaskQueueService(
        repository, TTL(settings.cache_task_status_ttl * 1000), settings.cache_max_payload_bytes
    )


TASKS = Capability("tasks", _memory, _redis, _service)
