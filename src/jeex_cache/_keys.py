"""``CacheKey``, the public name of every storage key, with one constructor per key.

A façade for callers (``jeex_cache.CacheKey.project_data(pid)``): the constructors delegate to
the capabilities' ``keys`` modules, where every key is built. No capability imports this one.
"""

from __future__ import annotations

from uuid import UUID

from jeex_cache.core import keys as core_keys
from jeex_cache.core.identifiers import ProjectId, UserId
from jeex_cache.core.ip_address import DEFAULT_IPV6_PREFIX
from jeex_cache.progress import keys as progress_keys
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.project_cache.model import CacheTag
from jeex_cache.rate_limit import keys as rate_limit_keys
from jeex_cache.rate_limit.keys import Identifier
from jeex_cache.rate_limit.model import RateLimitWindow
from jeex_cache.sessions import keys as session_keys
from jeex_cache.tasks import keys as task_keys

__all__ = ["CacheKey"]


class CacheKey(core_keys.StorageKey):
    """A storage key relative to the configured namespace, e.g. ``proj:{<project>}:data``.

    Backends prepend ``<namespace>:``. Keys of one project share the hash tag ``{<project>}``
    (the project ID's canonical text), so a Lua script over a project's keys stays in one
    Redis Cluster slot.
    """

    __slots__ = ()

    # -- project cache -------------------------------------------------------------------
    @staticmethod
    def project_prefix(project_id: ProjectId) -> str:
        """The prefix every key of one project starts with: ``proj:{<project>}:``."""
        return project_keys.prefix(project_id)

    @classmethod
    def project_data(cls, project_id: ProjectId) -> CacheKey:
        """The project's main cached document."""
        return cls(project_keys.data(project_id).value)

    @classmethod
    def project_entry(cls, project_id: ProjectId, name: str) -> CacheKey:
        """A named entry of the project-scoped key/value view."""
        return cls(project_keys.entry(project_id, name).value)

    @classmethod
    def project_index(cls, project_id: ProjectId) -> CacheKey:
        """Sorted set of the project's entry keys, scored by expiry time (ms)."""
        return cls(project_keys.index(project_id).value)

    @classmethod
    def project_tags(cls, project_id: ProjectId) -> CacheKey:
        """Sorted set of the tags used in the project, scored by their latest expiry."""
        return cls(project_keys.tags(project_id).value)

    @classmethod
    def project_tag_index(cls, project_id: ProjectId, tag: CacheTag) -> CacheKey:
        """Sorted set of the project's entries carrying ``tag``, scored by expiry."""
        return cls(project_keys.tag_index(project_id, tag).value)

    @classmethod
    def tag_projects(cls, tag: CacheTag) -> CacheKey:
        """Sorted set of the projects holding entries tagged ``tag``, scored by expiry."""
        return cls(project_keys.tag_projects(tag).value)

    # -- sessions --------------------------------------------------------------------------
    @classmethod
    def user_session(cls, session_id: str) -> CacheKey:
        """A session record, keyed by a SHA-256 of the session ID (never the raw ID)."""
        return cls(session_keys.user_session(session_id).value)

    @classmethod
    def session_record(cls, digest: str) -> CacheKey:
        """The session record named by ``digest`` (``session_digest`` of its ID); its own slot."""
        return cls(session_keys.session_record(digest).value)

    @classmethod
    def user_sessions(cls, user_id: UserId) -> CacheKey:
        """Index of one user's sessions."""
        return cls(session_keys.user_sessions(user_id).value)

    # -- rate limits -----------------------------------------------------------------------
    @classmethod
    def rate_limit(
        cls,
        scope: str,
        identifier: Identifier,
        window: RateLimitWindow | int,
        policy: str | None = None,
        *,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
    ) -> CacheKey:
        """Rate-limit log of ``identifier`` in ``scope`` (user, project, ip) for ``window``
        (a ``RateLimitWindow`` or seconds), optionally of a named ``policy``."""
        built = rate_limit_keys.rate_limit(
            scope, identifier, window, policy, ipv6_prefix=ipv6_prefix
        )
        return cls(built.value)

    @staticmethod
    def rate_limit_prefix(
        scope: str, identifier: Identifier, *, ipv6_prefix: int = DEFAULT_IPV6_PREFIX
    ) -> str:
        """Prefix shared by all windows of one limited identifier (one hash tag)."""
        return rate_limit_keys.prefix(scope, identifier, ipv6_prefix=ipv6_prefix)

    # -- progress and tasks ----------------------------------------------------------------
    @classmethod
    def progress(cls, correlation_id: UUID | str) -> CacheKey:
        """A progress record."""
        return cls(progress_keys.progress(correlation_id).value)

    @classmethod
    def progress_events(cls, correlation_id: UUID | str) -> CacheKey:
        """The capped event log of one progress record (same hash tag as the record)."""
        return cls(progress_keys.progress_events(correlation_id).value)

    @classmethod
    def task(cls, task_id: str) -> CacheKey:
        """A background task's status record."""
        return cls(task_keys.task(task_id).value)

    @classmethod
    def task_queue(cls, queue: str) -> CacheKey:
        """A background task queue."""
        return cls(task_keys.task_queue(queue).value)

    @classmethod
    def task_queue_part(cls, queue: str, part: str) -> CacheKey:
        """A queue's other structures (``running``, ``dead``, ``wake``), in its hash tag."""
        return cls(task_keys.task_queue_part(queue, part).value)
