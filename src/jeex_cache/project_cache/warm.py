"""Cache warming: load many projects with bounded concurrency, reporting progress.

``warm`` is what ``CacheManager.warm_project_cache`` runs; ``import_loader`` and
``read_project_ids`` are the parts a command line needs (``jeex-cache warm``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias, cast
from uuid import UUID

from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.identifiers import CanonicalId, ProjectId, parse_id
from jeex_cache.project_cache.model import LoadResult, LoadSource

__all__ = ["ProjectLoader", "WarmSummary", "Warmable", "import_loader", "read_project_ids", "warm"]

logger = logging.getLogger("jeex_cache.loader")

ProjectLoader: TypeAlias = (
    Callable[[CanonicalId], Awaitable[Any]]
    | Callable[[UUID], Awaitable[Any]]
    | Callable[[str], Awaitable[Any]]
)
"""An ``async`` callable that returns one project's data, given its canonical ID: a ``UUID``
or a ``str`` (one that takes only the kind your projects have will do)."""

MAX_CONCURRENCY = 1_000


@dataclass(frozen=True, slots=True)
class WarmSummary:
    """What a warming run did: entries loaded, already fresh, and failed; the progress ID."""

    loaded: int
    cached: int
    failed: int
    correlation_id: str


class Warmable(Protocol):
    """What warming needs of a manager: loads and progress reports."""

    async def read_or_load_project_data(
        self, project_id: ProjectId, loader: Callable[[], Awaitable[Any]], ttl: Any = None
    ) -> LoadResult: ...
    async def start_progress_tracking(
        self, correlation_id: str, total_steps: int, message: str = ""
    ) -> object: ...
    async def increment_progress(self, correlation_id: str, message: str = "") -> object: ...
    async def complete_progress(self, correlation_id: str, message: str = "") -> object: ...


async def warm(
    cache: Warmable,
    project_ids: Iterable[ProjectId],
    loader: ProjectLoader,
    *,
    concurrency: int = 8,
    ttl: Any = None,
    correlation_id: str | None = None,
) -> WarmSummary:
    """Load each project not cached fresh (at most ``concurrency`` at once), one progress
    step per project; a failed loader is counted and logged, and the others go on."""
    if type(concurrency) is not int or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInputError(f"concurrency must be an int in [1, {MAX_CONCURRENCY}]")
    ids = list(dict.fromkeys(parse_id(pid) for pid in project_ids))
    progress = correlation_id or f"warm-{uuid.uuid4().hex}"
    await cache.start_progress_tracking(progress, max(1, len(ids)), "warming the cache")
    counts = {"loaded": 0, "cached": 0, "failed": 0}
    gate = asyncio.Semaphore(concurrency)
    load = cast(Callable[[CanonicalId], Awaitable[Any]], loader)  # given the IDs it takes

    async def one(pid: CanonicalId) -> None:
        async with gate:
            try:
                result = await cache.read_or_load_project_data(pid, lambda: load(pid), ttl)
            except Exception as exc:  # one project's failure does not stop the run
                counts["failed"] += 1
                logger.warning("warming project %s failed: %s", pid, type(exc).__name__)
            else:
                counts["cached" if result.source is LoadSource.HIT else "loaded"] += 1
            await cache.increment_progress(progress, f"project {pid}")

    await asyncio.gather(*(one(pid) for pid in ids))
    summary = f"{counts['loaded']} loaded, {counts['cached']} cached, {counts['failed']} failed"
    await cache.complete_progress(progress, summary)
    return WarmSummary(counts["loaded"], counts["cached"], counts["failed"], progress)


def import_loader(spec: str) -> ProjectLoader:
    """The loader named ``"package.module:function"`` (the CLI's ``--loader``)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidInputError(f"a loader is 'module:function', got {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(f"cannot import loader {spec!r}: {exc}") from None
    if not callable(target):
        raise InvalidInputError(f"loader {spec!r} is not callable")
    return target  # type: ignore[no-any-return]


def read_project_ids(args: Iterable[str] = (), path: str | Path | None = None) -> list[CanonicalId]:
    """Project IDs from ``args`` and from a file of one ID a line (``#`` comments, blanks
    skipped), validated, duplicates dropped."""
    raw = list(args)
    if path is not None:
        for line in Path(path).read_text().splitlines():
            text = line.split("#", 1)[0].strip()
            if text:
                raw.append(text)
    return list(dict.fromkeys(parse_id(text) for text in raw))
