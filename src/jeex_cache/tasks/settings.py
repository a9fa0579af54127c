"""``WorkerSettings``: a worker configured once, in the application's code.

    settings = WorkerSettings(
        queue="emails",
        concurrency=8,
        max_running_per_project=2,
        schedules=[Schedule("0 * * * *", "digest")],
        on_startup=open_pool,     # async def open_pool(ctx: WorkerContext): ctx.state["db"] = ...
        on_shutdown=close_pool,
    )

    @settings.task
    async def digest(ctx: TaskContext) -> None:
        await ctx.state["db"].execute(...)

    await Worker.from_settings(manager, settings).run()
    # or, as a process: jeex-cache worker myapp.tasks:settings

The keyword names are ``Worker``'s own; ``handlers`` may be a dict, a ``TaskRegistry`` or
left out and filled by ``@settings.task``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jeex_cache.core.retry import RetryPolicy
from jeex_cache.tasks.context import ProgressReporter, WorkerContext
from jeex_cache.tasks.schedule import Schedule
from jeex_cache.tasks.typed import Handler, TaskDecorator, TaskRegistry

__all__ = ["Hook", "WorkerSettings"]

Hook = Callable[[WorkerContext], Awaitable[None]]
"""``async def hook(ctx: WorkerContext) -> None``: run once per worker, at start or stop."""


@dataclass(slots=True)
class WorkerSettings:
    """Everything a ``Worker`` takes, under ``Worker``'s keyword names, plus the hooks.

    ``on_startup(ctx)`` runs once before the worker takes its first task and fills
    ``ctx.state``, which every handler sees as ``ctx.state``; ``on_shutdown(ctx)`` runs once
    after the last task settled (also when ``run`` fails or is cancelled).
    """

    queue: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    concurrency: int = 1
    visibility_timeout: float = 30.0
    shutdown_timeout: float = 10.0
    task_timeout: float | None = None
    retry: RetryPolicy | None = None
    max_wait: float = 5.0
    burst: bool = False
    progress: ProgressReporter | None = None
    name: str | None = None
    max_running_per_project: int | None = None
    schedules: Sequence[Schedule] = ()
    on_startup: Hook | None = None
    on_shutdown: Hook | None = None
    rate: float | None = None
    rate_burst: int = 1
    registry: TaskRegistry = field(init=False)

    def __post_init__(self) -> None:
        handlers = self.handlers
        if isinstance(handlers, TaskRegistry) and handlers.queue == self.queue:
            self.registry = handlers
        else:
            self.registry = TaskRegistry(self.queue, handlers)
        self.handlers = self.registry

    @property
    def task(self) -> TaskDecorator:
        """``@settings.task`` (or ``@settings.task(name=..., max_attempts=...)``): register a
        typed task on this worker's queue (see ``TaskRegistry.task``)."""
        return self.registry.task

    def worker_options(self) -> dict[str, Any]:
        """The keyword arguments of ``Worker`` these settings stand for."""
        return {
            "queue": self.queue, "handlers": self.registry, "concurrency": self.concurrency,
            "visibility_timeout": self.visibility_timeout,
            "shutdown_timeout": self.shutdown_timeout, "task_timeout": self.task_timeout,
            "retry": self.retry, "max_wait": self.max_wait, "burst": self.burst,
            "progress": self.progress, "name": self.name,
            "max_running_per_project": self.max_running_per_project,
            "schedules": self.schedules, "on_startup": self.on_startup,
            "on_shutdown": self.on_shutdown, "rate": self.rate, "rate_burst": self.rate_burst,
        }  # fmt: skip
