"""The failure policy: what each family of operations does when the backend fails.

Each capability declares its rows of the failure table (``<capability>/failures.py``) as
``Family`` values; ``FAILURE_POLICY`` is the table they fill. Public operations are decorated
with ``@guarded(ROW)``: a ``BackendError`` raised beneath them is retried when the operation
is idempotent and time allows, then logged (rate-limited), counted, and turned into the row's
fallback, or re-raised where the table says the caller must know (``OperationRuntime``). The
same wrapper measures every call and, when an OpenTelemetry SDK is installed, opens a span
and records OTel metrics; a span carries only the attributes the operation declares.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Concatenate, Generic, Literal, ParamSpec, Protocol, TypeVar, overload

from jeex_cache.core.errors import BackendError, InvalidInputError
from jeex_cache.core.telemetry import SpanAttributes

__all__ = [
    "FAILURE_POLICY",
    "NOT_HELD",
    "Family",
    "Guarded",
    "Operation",
    "Outcome",
    "Runtime",
    "guarded",
    "outcome_of",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Family:
    """One row of the failure table: what an operation family returns when the backend fails.

    ``fallback`` is the neutral value; ``answer``, when set, replaces it with one that depends
    on the guarded object and the error. With neither, the error propagates (``raises``).
    ``counts_hits``: the family's reads count hits and misses in the metrics.
    """

    name: str
    why: str
    fallback: Callable[[], Any] | None = None
    answer: Callable[[Any, BackendError], Any] | None = None
    counts_hits: bool = False

    def __post_init__(self) -> None:
        if self.name in FAILURE_POLICY:
            raise ValueError(f"the failure table has a row {self.name!r} already")
        FAILURE_POLICY[self.name] = self

    @property
    def raises(self) -> bool:
        """The caller must know: a backend failure is re-raised, never replaced."""
        return self.fallback is None and self.answer is None


FAILURE_POLICY: dict[str, Family] = {}
"""The failure table, by family name: filled by the rows each capability declares."""

NOT_HELD: Any = object()
"""What a guarded operation's ``peek`` returns when it cannot answer without I/O."""


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A guarded call's own result: its value, and the backend error it degraded on, if any."""

    value: T
    error: BackendError | None = None

    @property
    def failed(self) -> bool:
        """The backend failed and ``value`` is the row's fallback."""
        return self.error is not None


@dataclass(frozen=True, slots=True)
class Operation:
    """One guarded operation: its name, row, own fallback and what its spans show.

    ``counts_hits``: a read of its row's own type (no ``fallback``), so None is a miss.
    """

    name: str
    family: Family
    fallback: Callable[[], Any] | None
    idempotent: bool
    attributes: SpanAttributes
    counts_hits: bool

    def degrade(self, owner: object, exc: BackendError) -> Any:
        """The value a failed call returns (only for a row that does not raise)."""
        if self.fallback is not None:
            return self.fallback()
        if self.family.answer is not None:
            return self.family.answer(owner, exc)
        assert self.family.fallback is not None
        return self.family.fallback()


class Runtime(Protocol):
    """What a guarded call needs of its runtime (``core.runtime.OperationRuntime``)."""

    observed: bool
    peeks: bool
    """A ``peek`` may answer (a near cache is wired): without one it is not even called."""

    def finish(self, op: Operation, value: Any, seconds: float) -> None: ...

    async def recover(
        self, op: Operation, method: Callable[..., Awaitable[Any]], owner: object,
        args: tuple[Any, ...], kwargs: dict[str, Any], exc: BackendError, started: float,
    ) -> Outcome[Any]: ...  # fmt: skip

    async def observe(
        self, op: Operation, method: Callable[..., Awaitable[Any]], owner: object,
        args: tuple[Any, ...], kwargs: dict[str, Any],
    ) -> Outcome[Any]: ...  # fmt: skip


class Guarded(Protocol):
    """Anything whose operations are guarded carries a runtime (best an attribute, not a
    computed property: it is read on every call)."""

    @property
    def runtime(self) -> Runtime: ...


S = TypeVar("S", bound=Guarded)
P = ParamSpec("P")
R = TypeVar("R")
_Method = Callable[Concatenate[S, P], Awaitable[R]]
_Guarded = Callable[Concatenate[S, P], Coroutine[Any, Any, R]]


@overload
def guarded(
    family: Family,
    fallback: Callable[[], Any] | None = None,
    *,
    idempotent: bool = False,
    attributes: Mapping[str, str] | None = None,
    name: str | None = None,
    peek: Callable[..., Any] | None = None,
    outcome: Literal[False] = False,
) -> Callable[[_Method[S, P, R]], _Guarded[S, P, R]]: ...


@overload
def guarded(
    family: Family,
    fallback: Callable[[], Any] | None = None,
    *,
    idempotent: bool = False,
    attributes: Mapping[str, str] | None = None,
    name: str | None = None,
    peek: Callable[..., Any] | None = None,
    outcome: Literal[True],
) -> Callable[[_Method[S, P, R]], _Guarded[S, P, Outcome[R]]]: ...


def guarded(
    family: Family,
    fallback: Callable[[], Any] | None = None,
    *,
    idempotent: bool = False,
    attributes: Mapping[str, str] | None = None,
    name: str | None = None,
    outcome: bool = False,
    peek: Callable[..., Any] | None = None,
) -> Callable[[_Method[S, P, R]], _Guarded[S, P, Any]]:
    """Apply the failure policy of ``family`` to an async method, and measure it.

    ``fallback`` replaces the row's value for an operation of another result type; it cannot
    turn a row that raises into one that degrades. ``idempotent`` operations are retried on
    connection-level failures (``RetryPolicy``); others never are, since a lost answer may
    hide an applied write. ``name`` replaces the method's name in metrics and spans;
    ``outcome`` makes every call return its ``Outcome`` (the value, and whether it failed);
    without it, ``outcome_of`` gets one call's ``Outcome``.

    ``attributes`` declares the span's own attributes: attribute name -> parameter name (or
    ``self.<name>``), e.g. ``{"session": "session_id", "project_id": "project_id"}``. A
    session ID is exported only as its hash prefix; arguments not declared never are.

    ``peek(self, *args, **kwargs)`` answers without I/O when it can (a near cache hit), else
    returns ``NOT_HELD`` and the method runs. Its answer is counted like the method's (hits,
    latency) but never awaits, so it costs no coroutine beneath the guard's own. With an
    OpenTelemetry SDK installed it is skipped: every call gets its span; so it is while the
    runtime says nothing can be peeked (``Runtime.peeks``: no near cache).
    """
    if fallback is not None and family.raises:
        raise ValueError(f"{family.name} raises on backend failure; it has no fallback")

    def decorate(method: _Method[S, P, R]) -> _Guarded[S, P, Any]:
        op = Operation(
            name or method.__name__, family, fallback, idempotent,
            SpanAttributes(method, attributes or {}), family.counts_hits and fallback is None,
        )  # fmt: skip

        def wrap(as_outcome: bool) -> _Guarded[S, P, Any]:
            @functools.wraps(method)
            async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> Any:
                runtime = self.runtime
                if runtime.observed:  # an OpenTelemetry SDK is installed
                    done = await runtime.observe(op, method, self, args, kwargs)
                    return done if as_outcome else done.value
                started = perf_counter()  # the plain path, inline: no frame of its own
                if peek is not None and runtime.peeks:
                    value = peek(self, *args, **kwargs)
                    if value is not NOT_HELD:
                        runtime.finish(op, value, perf_counter() - started)
                        return Outcome(value) if as_outcome else value
                try:
                    value = await method(self, *args, **kwargs)
                except BackendError as exc:
                    done = await runtime.recover(op, method, self, args, kwargs, exc, started)
                    return done if as_outcome else done.value
                runtime.finish(op, value, perf_counter() - started)
                return Outcome(value) if as_outcome else value

            return run

        if outcome:
            return wrap(True)
        run = wrap(False)
        _OUTCOMES[run] = wrap(True)
        return run

    return decorate


_OUTCOMES: dict[object, Callable[..., Coroutine[Any, Any, Outcome[Any]]]] = {}
"""Each guarded method (not ``outcome=True``), by its wrapper: the same operation returning
its ``Outcome``."""


async def outcome_of(
    operation: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
) -> Outcome[R]:
    """Run a guarded operation once and return its ``Outcome``: its value, and the backend
    error when its fallback replaced the value (``failed``). For a caller that must tell
    "nothing was there" from "the backend failed", with no twin of the operation.
    ``operation`` is a bound method that ``guarded`` wraps itself (the manager's, a plain
    view's); anything else, a session view's checked call included, is refused:

        done = await outcome_of(cache.invalidate_project_cache, project_id, "deploy")
        if done.failed: ...  # 503, not "0 removed"
    """
    variant = _OUTCOMES.get(getattr(operation, "__func__", None))
    if variant is None:
        raise InvalidInputError(f"{operation!r} is not a bound guarded operation")
    owner = getattr(operation, "__self__")  # noqa: B009 (a bound method's owner)
    done: Outcome[R] = await variant(owner, *args, **kwargs)
    return done
