"""Loaders: ``get_or_load`` with single-flight, XFetch early refresh and stale values.

On a miss one caller of the whole deployment runs the loader: in a process, every caller of
one entry awaits one flight (a task); across processes, the flight first takes the entry's
lease (``LoadStore``), and the flights of other processes wait to be woken, then read the
value it cached. A fresh entry is refreshed early, in the background, with XFetch's
probability (``xfetch``); within ``stale_ttl`` after its TTL a stale value is served at once
while one background load runs (stale-while-revalidate), or in place of a failed load
(stale-if-error). With the backend down the loader still runs and its value is returned,
uncached.

Invalidation wins: the lease comes with a fill token, taken before the loader runs; any
write, delete or invalidation of the entry after that revokes it, and the fill is refused
(REVOKED): the caller, and the flight's other callers, get the loader's value marked
SUPERSEDED. With ``version_of`` the fill is a versioned write as well.

``build_loader`` builds the service over a backend: its ``LoadStore`` beside the project
cache's repository (``lease.MemoryLoadStore`` or ``lease_redis.RedisLoadStore``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from jeex_cache.core.clock import Clock
from jeex_cache.core.errors import InvalidInputError, LoaderFailedError
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.identifiers import (
    CanonicalId,
    IdKey,
    ProjectId,
    id_key,
    parse_id,
    validate_name,
)
from jeex_cache.core.memory_budget import MemoryBudget
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.core.ttl import TTL, TTLLike, as_ttl
from jeex_cache.project_cache._coalesce import Coalescer
from jeex_cache.project_cache.lease import (
    FillTerms,
    Grant,
    LeaseEnd,
    LoadSteps,
    LoadStore,
    MemoryLoadStore,
)
from jeex_cache.project_cache.lease_redis import RedisLoadStore, WaitSettings, open_waits
from jeex_cache.project_cache.memory import MemoryProjectCacheRepository
from jeex_cache.project_cache.model import (
    CacheTag,
    Loader,
    LoadMark,
    LoadResult,
    LoadSource,
    StoredLoad,
    VersionOf,
)
from jeex_cache.project_cache.repository import ProjectCacheRepository
from jeex_cache.project_cache.service import ProjectCacheService, TagLike, as_tags
from jeex_cache.project_cache.xfetch import should_refresh

__all__ = ["LoaderBackend", "LoaderService", "build_loader"]

logger = logging.getLogger("jeex_cache.loader")

_Key = tuple[IdKey, str | None]
_CallKey = tuple[_Key, float, float, bool, bool]


@dataclass(frozen=True, slots=True)
class _Load:
    """One call's validated request."""

    project_id: CanonicalId
    name: str | None
    loader: Loader
    ttl: float
    stale_ttl: float
    tags: frozenset[CacheTag]
    version_of: VersionOf | None

    @property
    def key(self) -> _Key:
        return (id_key(self.project_id), self.name)

    @property
    def fill(self) -> FillTerms:
        """The terms of this load's fill: its tags, and the entry's TTL (fresh + stale)."""
        return FillTerms(self.tags, TTL.seconds(self.ttl + self.stale_ttl))


@functools.lru_cache(maxsize=256)
def _windows(ttl: TTLLike, stale_ttl: TTLLike | None) -> tuple[float, float]:
    """Seconds fresh and seconds stale, validated (memoized: callers repeat a few values)."""
    fresh = as_ttl(ttl).milliseconds / 1000
    stale = 0.0 if stale_ttl is None else as_ttl(stale_ttl).milliseconds / 1000
    as_ttl(fresh + stale)  # the entry's lifetime in Redis must be valid too
    return fresh, stale


class LoaderService:
    """The loaders' rules over ``LoadSteps``. ``rng`` may be replaced (a seeded
    ``random.Random``) to make early refreshes reproducible."""

    def __init__(
        self,
        steps: LoadSteps,
        clock: Clock,
        default_ttl: TTL,
        lease_seconds: float,
        beta: float,
    ) -> None:
        self._steps = steps
        self._clock = clock
        self._default_ttl = default_ttl
        self._lease_ms = round(lease_seconds * 1000)
        self._beta = beta
        self.rng = random.Random()
        self._flights: dict[_Key, asyncio.Task[LoadResult]] = {}
        self._refreshes: dict[_Key, asyncio.Task[None]] = {}
        self._calls: Coalescer[_CallKey, LoadResult] = Coalescer()
        self.loads = 0
        """Loader runs this process started (foreground and background)."""

    async def get_or_load(
        self,
        project_id: ProjectId,
        name: str | None,
        loader: Loader,
        ttl: TTLLike | None = None,
        *,
        tags: Iterable[TagLike] = (),
        stale_ttl: TTLLike | None = None,
        early_refresh: bool = True,
        stale_while_revalidate: bool = True,
        version_of: VersionOf | None = None,
    ) -> LoadResult:
        """The cached value, or the loader's (see the module docstring).

        Concurrent calls of one entry with the same windows share one call: one read, and
        one flight on a miss. The access counter receives the callers who joined with the
        entry's next read. They share the value object too: treat it as read-only.
        ``version_of(value)``: the version the loaded value is written with.
        """
        load = self._validate(project_id, name, loader, ttl, tags, stale_ttl, version_of)
        key = (load.key, load.ttl, load.stale_ttl, early_refresh, stale_while_revalidate)
        return await self._calls.run(
            key, lambda: self._call(load, key, early_refresh, stale_while_revalidate)
        )

    async def _call(
        self, load: _Load, key: _CallKey, early_refresh: bool, stale_while_revalidate: bool
    ) -> LoadResult:
        accesses = 1 + self._calls.take_joined(key)
        read = await self._steps.read(load.project_id, load.name, accesses)
        found = read.value
        now = self._clock.time()
        if found is not None:
            if now < found.fresh_until:
                if early_refresh and should_refresh(
                    now, found.fresh_until, found.delta, self._beta, self.rng.random
                ):
                    self._refresh(load, found)
                return LoadResult(found.value, LoadSource.HIT)
            if now < found.fresh_until + load.stale_ttl:
                if stale_while_revalidate:
                    self._refresh(load, found)
                    return LoadResult(found.value, LoadSource.STALE)
            else:
                found = None
        return await self._join(load, found)

    def _validate(
        self,
        project_id: ProjectId,
        name: str | None,
        loader: Loader,
        ttl: TTLLike | None,
        tags: Iterable[TagLike],
        stale_ttl: TTLLike | None,
        version_of: VersionOf | None,
    ) -> _Load:
        pid = parse_id(project_id)
        if name is not None:
            validate_name(name, "entry name")
        if not callable(loader):
            raise InvalidInputError(f"loader must be an async callable, got {loader!r}")
        if version_of is not None and not callable(version_of):
            raise InvalidInputError(f"version_of must be a callable, got {version_of!r}")
        fresh, stale = _windows(self._default_ttl if ttl is None else ttl, stale_ttl)
        return _Load(pid, name, loader, fresh, stale, as_tags(tags), version_of)

    async def _join(self, load: _Load, stale: StoredLoad | None) -> LoadResult:
        """Await this process's one flight for the entry, starting it if there is none."""
        flight = self._flights.get(load.key)
        if flight is None:
            flight = asyncio.create_task(self._fly(load, stale))
            self._flights[load.key] = flight
            flight.add_done_callback(lambda task: self._landed(load.key, task))
        return await asyncio.shield(flight)

    def _landed(self, key: _Key, task: asyncio.Task[LoadResult]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: its callers have it, or none is left to

    async def _fly(self, load: _Load, stale: StoredLoad | None) -> LoadResult:
        """Load under the entry's lease, or wait for whoever holds it and read its value."""
        pid, name = load.project_id, load.name
        while True:
            token = secrets.token_hex(16)
            now = self._clock.time()
            grant = await self._steps.acquire(pid, name, token, self._lease_ms, now, load.fill)
            if grant.value is None:  # no backend to share the load through
                return await self._run(load, None, stale)
            if grant.value is Grant.TAKEN:
                return await self._run(load, token, stale)
            if grant.value is Grant.FRESH:  # loaded between our read and our request
                cached = await self._fresh(load)
                if cached is not None:
                    return cached
                continue
            end = await self._steps.wait(pid, name, self._lease_ms / 1000)
            cached = await self._fresh(load)
            if cached is not None:
                return cached
            if end.value is LeaseEnd.FAILED:
                error = LoaderFailedError(
                    "the loader failed in another process; the next call loads again"
                )
                if stale is not None:
                    return LoadResult(stale.value, LoadSource.STALE, error)
                raise error
            # FREE, TIMEOUT (a holder that died frees the lease when it runs out), or a
            # load whose value did not stay: ask for the lease again.

    async def _fresh(self, load: _Load) -> LoadResult | None:
        read = await self._steps.read(load.project_id, load.name)
        found = read.value
        if found is not None and self._clock.time() < found.fresh_until:
            return LoadResult(found.value, LoadSource.HIT)
        return None

    async def _run(self, load: _Load, token: str | None, stale: StoredLoad | None) -> LoadResult:
        """Run the loader (holding ``token``'s lease unless None) and cache its value."""
        pid, name = load.project_id, load.name
        keeper = None if token is None else asyncio.create_task(self._keep(pid, name, token))
        self.loads += 1
        started = self._clock.time()
        try:
            value = await load.loader()
        except Exception as exc:
            if token is not None:
                await self._steps.release(pid, name, token, LeaseEnd.FAILED)
            if stale is not None:
                return LoadResult(stale.value, LoadSource.STALE, exc)
            raise
        finally:
            if keeper is not None:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
        now = self._clock.time()
        if token is None:
            return LoadResult(value, LoadSource.UNCACHED)
        source, mark = LoadSource.UNCACHED, None
        if value is not None:  # None would read back as a miss
            try:
                version = None if load.version_of is None else load.version_of(value)
                written = await self._steps.write(
                    pid, name, value, load.fill.ttl, load.tags, token, version
                )
            except BaseException:  # a value that cannot be cached: free the lease at once
                await self._steps.release(pid, name, token, LeaseEnd.FAILED)
                raise
            result = written.value
            if result is not None and result.stored:
                assert result.version is not None
                source = LoadSource.LOADED
                mark = LoadMark(result.version, now + load.ttl, max(0.0, now - started))
            elif result is not None:  # revoked (invalidated since) or stale (a newer version)
                source = LoadSource.SUPERSEDED
        await self._steps.release(pid, name, token, LeaseEnd.LOADED, mark)
        return LoadResult(value, source)

    async def _keep(self, project_id: CanonicalId, name: str | None, token: str) -> None:
        """Extend the lease every third of its length while the loader runs."""
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            extended = await self._steps.extend(project_id, name, token, self._lease_ms)
            if not extended.value:
                logger.warning("a loader outlived its lease (project %s)", project_id)
                return

    def _refresh(self, load: _Load, seen: StoredLoad) -> None:
        """Start one background load of the entry, unless this process runs one already."""
        key = load.key
        if key in self._flights or key in self._refreshes:
            return
        task = asyncio.create_task(self._refresh_once(load, seen))
        self._refreshes[key] = task
        task.add_done_callback(lambda _: self._refreshes.pop(key, None))

    async def _refresh_once(self, load: _Load, seen: StoredLoad) -> None:
        pid, name = load.project_id, load.name
        token = secrets.token_hex(16)
        grant = await self._steps.acquire(
            pid, name, token, self._lease_ms, seen.fresh_until, load.fill
        )
        if grant.value is not Grant.TAKEN:  # refreshing or refreshed elsewhere, or no backend
            return
        read = await self._steps.read(pid, name)  # a refresh is rare: look once more
        if read.value is not None and read.value.fresh_until > seen.fresh_until:
            await self._steps.release(pid, name, token, LeaseEnd.LOADED)
            return  # refreshed since we read it
        try:
            await self._run(load, token, None)
        except Exception as exc:  # the stale value stays; the next reader tries again
            logger.warning("background load failed (project %s): %s", pid, type(exc).__name__)

    async def settle(self) -> None:
        """Wait for the background refreshes running now to finish."""
        while self._refreshes:
            await asyncio.gather(*self._refreshes.values(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the background refreshes still running."""
        tasks = list(self._refreshes.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class LoaderSettings(WaitSettings, Protocol):
    """The settings the loaders read (``config.Settings`` is one)."""

    @property
    def project_data_ttl(self) -> TTL: ...
    @property
    def cache_xfetch_beta(self) -> float: ...


class LoaderBackend(Protocol):
    """What ``build_loader`` needs of a backend (``backends.Backend`` is one)."""

    @property
    def clock(self) -> Clock: ...
    @property
    def settings(self) -> LoaderSettings: ...
    @property
    def executor(self) -> RedisExecutor | None: ...
    @property
    def budget(self) -> MemoryBudget | None: ...

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None: ...


def build_loader(
    repository: ProjectCacheRepository,
    cache: ProjectCacheService,
    backend: LoaderBackend,
    runtime: OperationRuntime,
) -> LoaderService:
    """The loaders over ``repository``'s backend, writing through ``cache``; what they open
    is closed with ``backend``."""
    settings = backend.settings
    store: LoadStore
    if backend.executor is None:
        assert isinstance(repository, MemoryProjectCacheRepository)
        store = MemoryLoadStore(repository, backend.budget)
    else:
        waits = open_waits(backend.executor, settings)
        backend.on_close(waits.client.aclose)
        store = RedisLoadStore(backend.executor, waits)
    service = LoaderService(
        LoadSteps(store, cache, runtime),
        backend.clock,
        settings.project_data_ttl,
        settings.cache_loader_lease_seconds,
        settings.cache_xfetch_beta,
    )
    backend.on_close(service.close)
    return service
