"""How progress is wired: its repository on each backend (on Redis with the pub/sub
listener, closed with the backend), its service over it."""

from __future__ import annotations

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.progress.listener import Listener, ProgressListener, ShardedListener
from jeex_cache.progress.memory import MemoryProgressRepository
from jeex_cache.progress.redis import RedisProgressRepository
from jeex_cache.progress.repository import ProgressRepository
from jeex_cache.progress.service import ProgressService

__all__ = ["PROGRESS"]


def _memory(backend: Backend) -> ProgressRepository:
    settings = backend.settings
    return MemoryProgressRepository(
        backend.clock, settings.cache_progress_max_events, backend.budget
    )


def _redis(backend: Backend) -> ProgressRepository:
    executor, settings = backend.executor, backend.settings
    assert executor is not None
    listener: Listener
    if executor.sharded:  # a cluster: SSUBSCRIBE on the node that owns each channel's slot
        listener = ShardedListener(
            lambda channel: executor.dedicated_client(channel).connection_pool,
            confirm_timeout=settings.redis_socket_timeout,
            locate=lambda channel: executor.command("EXISTS", channel),
        )
    else:
        listener = ProgressListener(
            executor.client.connection_pool, confirm_timeout=settings.redis_socket_timeout
        )
    backend.on_close(listener.close)
    return RedisProgressRepository(executor, listener, settings.cache_progress_max_events)


def _service(
    repository: ProgressRepository, backend: Backend, runtime: OperationRuntime
) -> ProgressService:
    return ProgressService(repository, backend.settings.progress_ttl)


PROGRESS = Capability("progress", _memory, _redis, _service)
