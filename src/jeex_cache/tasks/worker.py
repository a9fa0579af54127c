"""Workers: run a queue's tasks through handlers, at least once, with retries and a clean stop.

    async def send_email(ctx: TaskContext, payload: dict) -> dict:
        await ctx.report_progress(1, "sent")
        return {"sent": True}  # stored as the task's result (JSON)

    worker = Worker(cache_manager, "emails", handlers={"send_email": send_email})
    await worker.run()  # until worker.stop(); ``jeex-cache worker`` stops on SIGTERM/SIGINT

An idle worker blocks on the queue's wake-up signal (a connection of its own on Redis), so a
new task is picked up at once; delayed tasks, retries and lost deliveries wake it when due. A
busy one fills its free slots in one round trip, and acknowledges the tasks its slots
finish in one turn of the event loop together, claiming their next tasks in the same
round trip (``settle_tasks``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jeex_cache.core.errors import BackendError, InvalidInputError
from jeex_cache.core.identifiers import validate_name
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.tasks.context import (
    ManagedProgress,
    ProgressReporter,
    RateLimited,
    TaskContext,
    WorkerContext,
    WorkerStats,
)
from jeex_cache.tasks.failures import TASK_WORKER
from jeex_cache.tasks.model import Delivery, Settled, TaskStatus
from jeex_cache.tasks.repository import TaskWaiter
from jeex_cache.tasks.schedule import Schedule, Scheduler
from jeex_cache.tasks.service import validate_pace, validate_queue
from jeex_cache.tasks.settings import Hook, WorkerSettings
from jeex_cache.tasks.settlement import Settlements
from jeex_cache.tasks.tracing import processing

if TYPE_CHECKING:
    from jeex_cache.manager import CacheManager

__all__ = [
    "Handler",
    "ProgressReporter",
    "RateLimited",
    "Schedule",
    "TaskContext",
    "Worker",
    "WorkerContext",
    "WorkerSettings",
    "WorkerStats",
]

logger = logging.getLogger("jeex_cache.worker")

Handler = Callable[[TaskContext, Any], Awaitable[Any]]
"""``async def handler(ctx, payload) -> result``: the result must be JSON-serialisable."""


class Worker:
    """Takes tasks from ``queue`` and runs ``handlers[task.name](ctx, payload)``.

    Delivery is at least once: a task whose worker dies before settling it is delivered again
    once ``visibility_timeout`` (seconds, renewed while the handler runs) has passed. A
    handler that raises is retried after ``retry`` backoff until the task's ``max_attempts``,
    then the task is dead. ``stop()`` lets running handlers finish for ``shutdown_timeout``
    seconds, then cancels them and returns their tasks to the queue. ``burst`` makes ``run``
    return once no task is due. ``progress`` receives ``ctx.report_progress`` calls; without
    it the task's progress is the manager's, under the task ID, and ends with the task
    (completed on success, failed when dead). ``max_running_per_project`` caps one
    project's running tasks on the queue across all workers (default
    ``TASK_MAX_RUNNING_PER_PROJECT``; 0: no cap). ``schedules`` are enqueued as they fall
    due, each occurrence once however many workers run them (see ``Schedule``).
    ``rate`` paces every project of the queue to that many tasks a second (``rate_burst``
    at once), across all workers: it becomes the queue's default when ``run`` starts (see
    ``set_project_rate``). A handler that raises ``RateLimited`` (``ctx.pause_project``)
    hands its task back without using an attempt and pauses its project.
    ``on_startup(ctx)`` and ``on_shutdown(ctx)`` run once per ``run``, around it; what the
    startup hook puts in ``ctx.state`` every handler sees as ``ctx.state``. The same options
    in one object: ``WorkerSettings`` and ``Worker.from_settings``.
    """

    def __init__(
        self,
        cache_manager: CacheManager,
        queue: str,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 1,
        visibility_timeout: float = 30.0,
        shutdown_timeout: float = 10.0,
        task_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_wait: float = 5.0,
        burst: bool = False,
        progress: ProgressReporter | None = None,
        name: str | None = None,
        max_running_per_project: int | None = None,
        schedules: Sequence[Schedule] = (),
        on_startup: Hook | None = None,
        on_shutdown: Hook | None = None,
        rate: float | None = None,
        rate_burst: int = 1,
    ) -> None:
        self.queue = validate_queue(queue)
        if not handlers:
            raise InvalidInputError("a worker needs at least one handler")
        for handler_name, handler in handlers.items():
            validate_name(handler_name, "task name")
            if not callable(handler):
                raise InvalidInputError(f"handler for {handler_name!r} is not callable")
        if type(concurrency) is not int or concurrency < 1:
            raise InvalidInputError(f"concurrency must be a positive integer, got {concurrency!r}")
        for what, value in (("visibility_timeout", visibility_timeout), ("max_wait", max_wait)):
            if not isinstance(value, int | float) or value <= 0:
                raise InvalidInputError(f"{what} must be positive seconds, got {value!r}")
        if max_running_per_project is not None and (
            type(max_running_per_project) is not int or max_running_per_project < 0
        ):
            raise InvalidInputError(
                f"max_running_per_project must be 0 or more, got {max_running_per_project!r}"
            )
        if any(not isinstance(schedule, Schedule) for schedule in schedules):
            raise InvalidInputError("schedules must be Schedule objects")
        for hook in (on_startup, on_shutdown):
            if hook is not None and not callable(hook):
                raise InvalidInputError(f"worker hooks must be async functions, got {hook!r}")
        self._pace = None if rate is None else validate_pace(rate, rate_burst)
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        self.state: dict[str, Any] = {}
        """What the startup hook left for the handlers (their ``ctx.state``)."""
        self._cap = max_running_per_project
        self._schedules = list(schedules)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stats = WorkerStats()
        self._manager = cache_manager
        self._handlers = dict(handlers)
        self._concurrency = concurrency
        self._visibility = float(visibility_timeout)
        self._shutdown_timeout = shutdown_timeout
        self._task_timeout = task_timeout
        self._max_wait = float(max_wait)
        self._backoff = RetryPolicy(0.05, 2.0, self._max_wait)  # from a failing backend
        self._burst = burst
        managed = ManagedProgress(cache_manager)
        self._managed = None if progress else managed
        self._progress: ProgressReporter = progress or managed.report
        self._settlements = Settlements(
            cache_manager, self.name, self._visibility, retry or RetryPolicy(), self.stats,
            self._managed, self._backend_failed, max_running_per_project, queue=self.queue,
        )  # fmt: skip
        self._active: dict[asyncio.Task[None], Delivery] = {}
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()
        self._backend_failures = 0
        self._waiter: TaskWaiter | None = None
        self._interrupting: asyncio.Future[None] | None = None

    @classmethod
    def from_settings(cls, cache_manager: CacheManager, settings: WorkerSettings) -> Worker:
        """A worker configured by ``settings``; their typed tasks enqueue through
        ``cache_manager`` from now on, unless their registry was bound to another."""
        if not isinstance(settings, WorkerSettings):
            raise InvalidInputError(f"expected WorkerSettings, got {type(settings).__name__}")
        settings.registry.attach(cache_manager)
        return cls(cache_manager, **settings.worker_options())

    @property
    def active(self) -> list[Delivery]:
        """The deliveries being handled right now."""
        return list(self._active.values())

    def stop(self) -> None:
        """Ask ``run`` to return: no new task is taken; running ones finish or go back."""
        self._stop.set()
        self._changed.set()
        if self._waiter is not None and self._interrupting is None:
            self._interrupting = asyncio.ensure_future(self._interrupt(self._waiter))

    async def _check_durability(self) -> None:
        """Warn when the queue lives on a server that would lose it in a restart."""
        if self._manager.backend_name == "memory":
            return  # the in-process backend: its workers die with their tasks anyway
        durability = await self._manager.health_service.durability()
        if durability != "aof":
            logger.warning(
                "worker %s: queue %s lives on a Redis without AOF (durability: %s): a restart "
                "of the server loses queued tasks silently; set appendonly yes "
                "(docs/deploying.md#durability)",
                self.name, self.queue, durability,
            )  # fmt: skip

    async def run(self) -> None:
        """Take and run tasks until ``stop()`` (or, in burst mode, until none is due),
        between the ``on_startup`` and ``on_shutdown`` hooks."""
        context = WorkerContext(self._manager, self.queue, self.name, self.state)
        if self._pace is not None:
            pace = self._pace
            await self._manager.set_project_rate(self.queue, None, pace.rate, pace.burst)
        if self._on_startup is not None:
            await self._on_startup(context)
        try:
            await self._run()
        finally:
            if self._on_shutdown is not None:
                await self._on_shutdown(context)

    async def _run(self) -> None:
        self._waiter = waiter = await self._manager.open_task_waiter(self.queue, self._max_wait)
        await self._check_durability()
        heartbeat = asyncio.create_task(self._heartbeat())
        scheduling = None
        if self._schedules:
            scheduler = Scheduler(self._manager, self.queue, self._schedules, self._manager.clock)
            scheduling = asyncio.create_task(scheduler.run(self._stop))
        cancelled = False
        try:
            await self._loop(waiter)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            await self._drain(0.0 if cancelled else self._shutdown_timeout)
            await self._settlements.close()
            heartbeat.cancel()
            if scheduling is not None:
                scheduling.cancel()
            await asyncio.gather(heartbeat, *filter(None, [scheduling]), return_exceptions=True)
            if self._interrupting is not None:
                await asyncio.gather(self._interrupting, return_exceptions=True)
            self._waiter = None
            await waiter.close()

    async def _interrupt(self, waiter: TaskWaiter) -> None:
        try:
            await waiter.interrupt()
        except BackendError as exc:  # the wait then ends by itself within max_wait
            self._wait_failed("worker.interrupt", exc)

    async def run_once(self) -> TaskStatus | None:
        """Claim one due task and run it here; its outcome, or None if none was due."""
        claim = await self._claim(1)
        if claim is None or not claim.deliveries:
            return None
        outcome, _ = await self._process(claim.deliveries[0], chain=False)
        return outcome

    async def _loop(self, waiter: TaskWaiter) -> None:
        current = asyncio.current_task()
        while not self._stop.is_set():
            if current is not None and current.cancelling():
                raise asyncio.CancelledError  # a cancellation a driver swallowed
            if len(self._active) >= self._concurrency:
                self._changed.clear()
                await self._changed.wait()
                continue
            claim = await self._claim(self._concurrency - len(self._active))
            if claim is None:
                await self._pause()
            elif claim.deliveries:
                for delivery in claim.deliveries:  # one round trip fills the free slots
                    task = asyncio.create_task(self._slot(delivery))
                    self._active[task] = delivery
                    task.add_done_callback(self._finished)
            elif self._burst:
                if not self._active:
                    return
                self._changed.clear()
                await self._changed.wait()
            elif not self._stop.is_set():
                seconds = self._max_wait if claim.wait is None else min(claim.wait, self._max_wait)
                try:
                    await waiter.wait(seconds)
                except BackendError as exc:
                    self._backend_failed()
                    self._wait_failed("worker.wait", exc)
                    await self._pause()

    async def _slot(self, delivery: Delivery) -> None:
        """Run ``delivery``, then the tasks each success brings back with its acknowledgement."""
        task = asyncio.current_task()
        assert task is not None
        next_delivery: Delivery | None = delivery
        while next_delivery is not None:
            self._active[task] = next_delivery
            _, next_delivery = await self._process(next_delivery, chain=not self._stop.is_set())
            if next_delivery is not None and self._stop.is_set():
                await self._settlements.release(next_delivery)
                return

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._active.pop(task, None)
        self._changed.set()
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("worker %s: task processing crashed", self.name, exc_info=exc)

    async def _claim(self, count: int) -> Settled | None:
        """Lease up to ``count`` tasks in one round trip (None: the backend failed)."""
        try:
            claim = await self._manager.settle_tasks(
                self.queue, (), self.name, self._visibility, count, self._cap
            )
        except BackendError:  # counted and logged by the guard
            self._backend_failed()
            return None
        self._backend_failures = 0
        self.stats.claimed += len(claim.deliveries)
        return claim

    async def _pause(self) -> None:
        """Back off after a backend failure (50 ms doubling to ``max_wait``), unless stopped."""
        try:
            async with asyncio.timeout(self._backoff.ceiling(min(self._backend_failures, 10))):
                await self._stop.wait()
        except TimeoutError:
            pass

    def _backend_failed(self) -> None:
        self._backend_failures += 1

    def _wait_failed(self, operation: str, exc: BackendError) -> None:
        # A wait is not an operation (its latency would pollute the figures): only its failure.
        self._manager.runtime.tracker.failed(operation, TASK_WORKER.name, TASK_WORKER.why, exc)

    async def _process(
        self, delivery: Delivery, *, chain: bool
    ) -> tuple[TaskStatus | None, Delivery | None]:
        """Run one delivery and settle it; with ``chain``, the success also claims the next."""
        handler = self._handlers.get(delivery.name)
        managed = self._managed
        context = TaskContext(
            delivery, self._progress, None if managed is None else managed.start,
            cache=self._manager, state=self.state,
        )  # fmt: skip
        try:
            with processing(self._manager.runtime.tracer, delivery):
                if handler is None:
                    raise LookupError(f"no handler for task {delivery.name!r} on this worker")
                if self._task_timeout is None:
                    result = await handler(context, delivery.payload)
                else:
                    async with asyncio.timeout(self._task_timeout):
                        result = await handler(context, delivery.payload)
        except asyncio.CancelledError:
            await self._settlements.release(delivery)
            raise
        except RateLimited as exc:
            await self._settlements.paused(delivery, exc.retry_after)
            return None, None
        except Exception as exc:
            return await self._settlements.failed(delivery, exc), None
        outcome, next_delivery = await self._settlements.succeeded(delivery, result, chain)
        if outcome is TaskStatus.SUCCEEDED and managed is not None:
            await managed.succeeded(context)
        return outcome, next_delivery

    async def _heartbeat(self) -> None:
        """Renew the leases of running deliveries every third of the visibility timeout."""
        while True:
            await asyncio.sleep(self._visibility / 3)
            if self._active:
                try:
                    await self._manager.extend_tasks(
                        self.queue, list(self._active.values()), self._visibility
                    )
                except BackendError:  # counted and logged by the guard
                    self._backend_failed()

    async def _drain(self, grace: float) -> None:
        """Let running handlers finish for ``grace`` s; cancel the rest (they go back)."""
        if not self._active:
            return
        running = list(self._active)
        if grace > 0:
            await asyncio.wait(running, timeout=grace)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
