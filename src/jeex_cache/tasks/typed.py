"""Typed tasks: an async function becomes a task whose arguments are checked at enqueue.

    tasks = TaskRegistry("emails")

    @tasks.task
    async def send_email(ctx: TaskContext, to: str, subject: str = "hi") -> dict:
        ...

    await send_email.enqueue("ada@example.com", project_id=project, delay=60)
    worker = Worker(manager, "emails", tasks)  # a registry is a mapping of handlers

The payload is the arguments by parameter name (``{"to": ..., "subject": ...}``), so the
task can still be queued by its string name with such a dict. A bad call (a missing or
unknown argument) is an ``InvalidInputError`` at ``enqueue``, before anything is queued.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, overload

from jeex_cache.core.errors import ConfigurationError, InvalidInputError
from jeex_cache.core.identifiers import ProjectId, validate_name
from jeex_cache.tasks.context import TaskContext
from jeex_cache.tasks.service import DelayLike, validate_queue

if TYPE_CHECKING:
    from jeex_cache.manager import CacheManager

__all__ = ["TaskDecorator", "TaskFunction", "TaskRegistry", "TypedTask"]

TaskFunction = Callable[..., Awaitable[Any]]
"""``async def fn(ctx: TaskContext, *arguments) -> result`` (the result JSON)."""
Handler = Callable[[TaskContext, Any], Awaitable[Any]]

ENQUEUE_OPTIONS = frozenset({"project_id", "priority", "delay", "task_id", "max_attempts", "cost"})


class TypedTask:
    """A task function with its name and queue: ``.enqueue(*args, **kwargs)`` queues it.

    Calling it runs the function itself (``await send_email(ctx, "ada@example.com")``).
    """

    def __init__(
        self, registry: TaskRegistry, function: TaskFunction, name: str, max_attempts: int
    ) -> None:
        if not inspect.iscoroutinefunction(function):
            raise InvalidInputError(f"task {name!r} must be an async function")
        self.signature = inspect.signature(function)
        parameters = list(self.signature.parameters.values())
        if not parameters or parameters[0].kind not in _POSITIONAL:
            raise InvalidInputError(f"task {name!r} must take the TaskContext first")
        clashes = ENQUEUE_OPTIONS.intersection(p.name for p in parameters[1:])
        if clashes:
            raise InvalidInputError(
                f"task {name!r}: parameter names {sorted(clashes)} are enqueue options"
            )
        self.name = validate_name(name, "task name")
        self.function = function
        self.max_attempts = max_attempts
        self._registry = registry
        self._spread = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
        self.__doc__ = function.__doc__
        self.__wrapped__ = function

    @property
    def queue(self) -> str:
        """The queue the task is enqueued on."""
        return self._registry.queue

    def payload(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The payload of a call, its arguments by name; ``InvalidInputError`` if the call
        does not fit the function's signature."""
        try:
            bound = self.signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise InvalidInputError(f"task {self.name!r}: {exc}") from None
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(self.signature.parameters)))
        return arguments

    async def enqueue(
        self,
        *args: Any,
        project_id: ProjectId | None = None,
        priority: int = 0,
        delay: DelayLike | None = None,
        task_id: str | None = None,
        max_attempts: int | None = None,
        cost: int = 1,
        **kwargs: Any,
    ) -> str:
        """Check the arguments against the function's signature and queue the task with
        the registry's manager; return the task ID (see ``CacheManager.enqueue_task``)."""
        payload = self.payload(*args, **kwargs)
        return await self._registry.manager.enqueue_task(
            self.queue, self.name, payload, project_id=project_id, priority=priority,
            delay=delay, task_id=task_id, cost=cost,
            max_attempts=self.max_attempts if max_attempts is None else max_attempts,
        )  # fmt: skip

    async def handle(self, ctx: TaskContext, payload: Any) -> Any:
        """The worker's handler: call the function with the payload's arguments."""
        if not isinstance(payload, dict):
            raise TypeError(f"task {self.name!r} takes its arguments as a dict by name")
        args: list[Any] = [ctx]
        kwargs: dict[str, Any] = {}
        for parameter in list(self.signature.parameters.values())[1:]:
            if parameter.name not in payload:
                continue
            value = payload[parameter.name]
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                args.extend(value)
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                kwargs.update(value)
            elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY or (
                self._spread and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ):
                args.append(value)
            else:
                kwargs[parameter.name] = value
        return await self.function(*args, **kwargs)

    async def __call__(self, ctx: TaskContext, *args: Any, **kwargs: Any) -> Any:
        return await self.function(ctx, *args, **kwargs)

    def __repr__(self) -> str:
        return f"TypedTask({self.name!r}, queue {self.queue!r})"


class TaskDecorator(Protocol):
    """``TaskRegistry.task``: ``@task`` or ``@task(name=..., max_attempts=...)``."""

    @overload
    def __call__(self, function: TaskFunction, /) -> TypedTask: ...

    @overload
    def __call__(
        self, *, name: str | None = None, max_attempts: int = 3
    ) -> Callable[[TaskFunction], TypedTask]: ...


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class TaskRegistry(Mapping[str, Handler]):
    """The tasks of one queue: a mapping of task names to handlers, which a ``Worker``
    (or ``WorkerSettings``) takes as its ``handlers``.

    ``@registry.task`` registers a typed task; ``registry.add(name, handler)`` a plain
    ``handler(ctx, payload)``. ``.enqueue`` goes through ``manager``: the one given here or
    by ``bind``, else the manager of the latest ``Worker.from_settings`` that ran these
    tasks, else the global ``cache_manager``.
    """

    default_manager: ClassVar[CacheManager | None] = None
    """The manager of a registry bound to none (``jeex_cache.manager`` sets ``cache_manager``)."""

    def __init__(
        self,
        queue: str,
        handlers: Mapping[str, Handler] | None = None,
        *,
        manager: CacheManager | None = None,
    ) -> None:
        self.queue = validate_queue(queue)
        self._handlers: dict[str, Handler] = {}
        self._manager = manager
        self._worker_manager: CacheManager | None = None
        for name, handler in (handlers or {}).items():
            self.add(name, handler)

    @property
    def manager(self) -> CacheManager:
        """The manager ``.enqueue`` uses."""
        if self._manager is not None:
            return self._manager
        if self._worker_manager is not None:
            return self._worker_manager
        if TaskRegistry.default_manager is None:
            raise ConfigurationError("no manager: bind one (TaskRegistry(manager=...))")
        return TaskRegistry.default_manager

    def bind(self, manager: CacheManager) -> None:
        """Make ``manager`` the one the tasks of this registry are enqueued through."""
        self._manager = manager

    def attach(self, manager: CacheManager) -> None:
        """``Worker.from_settings``: enqueue through the worker's manager, unless one was
        bound."""
        self._worker_manager = manager

    def add(self, name: str, handler: Handler) -> None:
        """Register a plain ``handler(ctx, payload)`` under ``name``."""
        validate_name(name, "task name")
        if not callable(handler):
            raise InvalidInputError(f"handler for {name!r} is not callable")
        if name in self._handlers:
            raise InvalidInputError(f"task {name!r} is registered twice on {self.queue!r}")
        self._handlers[name] = handler

    @overload
    def task(self, function: TaskFunction, /) -> TypedTask: ...

    @overload
    def task(
        self, *, name: str | None = None, max_attempts: int = 3
    ) -> Callable[[TaskFunction], TypedTask]: ...

    def task(
        self,
        function: TaskFunction | None = None,
        *,
        name: str | None = None,
        max_attempts: int = 3,
    ) -> TypedTask | Callable[[TaskFunction], TypedTask]:
        """Decorate an async function as a task of this queue (named after the function
        unless ``name`` is given); return its ``TypedTask``."""

        def register(fn: TaskFunction) -> TypedTask:
            typed = TypedTask(self, fn, name or fn.__name__, max_attempts)
            self.add(typed.name, typed.handle)
            return typed

        return register if function is None else register(function)

    def __getitem__(self, name: str) -> Handler:
        return self._handlers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)

    def __repr__(self) -> str:
        return f"TaskRegistry({self.queue!r}, {sorted(self._handlers)})"
