"""``CacheKey``: every storage key of every capability, built in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID

from jeex_cache.core.errors import InvalidIdentifierError, InvalidInputError
from jeex_cache.core.identifiers import (
    is_session_digest,
    parse_uuid,
    validate_name,
    validate_token,
)
from jeex_cache.core.ip_address import DEFAULT_IPV6_PREFIX
from jeex_cache.project_cache.model import CacheTag
from jeex_cache.rate_limit.keys import rate_limit_identifier, rate_limit_suffix
from jeex_cache.rate_limit.model import RateLimitWindow
from jeex_cache.sessions.keys import session_digest

__all__ = ["CacheKey"]


@dataclass(frozen=True, slots=True)
class CacheKey:
    """A storage key relative to the configured namespace, e.g. ``proj:{<uuid>}:data``.

    Backends prepend ``<namespace>:``. Keys of one project share the hash tag ``{<uuid>}``,
    so a Lua script over a project's keys stays in one Redis Cluster slot.
    """

    value: str

    MAX_LENGTH: ClassVar[int] = 216  # 250 minus the longest namespace (32) and its colon

    def __post_init__(self) -> None:
        if len(self.value) > self.MAX_LENGTH:
            raise InvalidInputError(f"key is longer than {self.MAX_LENGTH} characters")

    def __str__(self) -> str:
        return self.value

    # -- project cache -------------------------------------------------------------------
    @classmethod
    def project_prefix(cls, project_id: UUID | str) -> str:
        """The prefix every key of one project starts with: ``proj:{<uuid>}:``."""
        return f"proj:{{{parse_uuid(project_id)}}}:"

    @classmethod
    def project_data(cls, project_id: UUID | str) -> CacheKey:
        """The project's main cached document."""
        return cls(f"proj:{{{parse_uuid(project_id)}}}:data")

    @classmethod
    def project_entry(cls, project_id: UUID | str, name: str) -> CacheKey:
        """A named entry of the project-scoped key/value view."""
        return cls(f"{cls.project_prefix(project_id)}kv:{validate_name(name, 'entry name')}")

    @classmethod
    def project_index(cls, project_id: UUID | str) -> CacheKey:
        """Sorted set of the project's entry keys, scored by expiry time (ms)."""
        return cls(f"{cls.project_prefix(project_id)}index")

    @classmethod
    def project_tags(cls, project_id: UUID | str) -> CacheKey:
        """Sorted set of the tags used in the project, scored by their latest expiry."""
        return cls(f"{cls.project_prefix(project_id)}tags")

    @classmethod
    def project_tag_index(cls, project_id: UUID | str, tag: CacheTag) -> CacheKey:
        """Sorted set of the project's entries carrying ``tag``, scored by expiry."""
        return cls(f"{cls.project_prefix(project_id)}tag:{tag.name}")

    @classmethod
    def tag_projects(cls, tag: CacheTag) -> CacheKey:
        """Sorted set of the projects holding entries tagged ``tag``, scored by expiry."""
        return cls(f"tag:{{{tag.name}}}:projects")

    # -- the other capabilities ------------------------------------------------------------
    @classmethod
    def user_session(cls, session_id: str) -> CacheKey:
        """A session record, keyed by a SHA-256 of the session ID (never the raw ID)."""
        return cls.session_record(session_digest(session_id))

    @classmethod
    def session_record(cls, digest: str) -> CacheKey:
        """The session record named by ``digest`` (``session_digest`` of its ID); its own slot."""
        if not is_session_digest(digest):
            raise InvalidIdentifierError("a session digest is 64 lowercase hex characters")
        return cls(f"sess:{{{digest}}}")

    @classmethod
    def user_sessions(cls, user_id: UUID | str) -> CacheKey:
        """Index of one user's sessions."""
        return cls(f"user:{{{parse_uuid(user_id, 'user ID')}}}:sessions")

    @classmethod
    def rate_limit(
        cls,
        scope: str,
        identifier: str | UUID,
        window: RateLimitWindow | int,
        policy: str | None = None,
        *,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
    ) -> CacheKey:
        """Rate-limit log of ``identifier`` in ``scope`` (user, project, ip) for ``window``
        (a ``RateLimitWindow`` or seconds), optionally of a named ``policy``."""
        prefix = cls.rate_limit_prefix(scope, identifier, ipv6_prefix=ipv6_prefix)
        seconds = window.seconds if isinstance(window, RateLimitWindow) else window
        return cls(prefix + rate_limit_suffix(seconds, policy))

    @classmethod
    def rate_limit_prefix(
        cls, scope: str, identifier: str | UUID, *, ipv6_prefix: int = DEFAULT_IPV6_PREFIX
    ) -> str:
        """Prefix shared by all windows of one limited identifier (one hash tag); see
        ``rate_limit_identifier`` for what each scope accepts."""
        return f"rl:{{{scope}.{rate_limit_identifier(scope, identifier, ipv6_prefix)}}}:"

    @classmethod
    def progress(cls, correlation_id: UUID | str) -> CacheKey:
        """A progress record."""
        return cls(f"progress:{{{_correlation(correlation_id)}}}")

    @classmethod
    def progress_events(cls, correlation_id: UUID | str) -> CacheKey:
        """The capped event log of one progress record (same hash tag as the record)."""
        return cls(f"progress:{{{_correlation(correlation_id)}}}:events")

    @classmethod
    def task(cls, task_id: str) -> CacheKey:
        """A background task's status record."""
        return cls(f"task:{{{validate_token(task_id, 'task ID')}}}")

    @classmethod
    def task_queue(cls, queue: str) -> CacheKey:
        """A background task queue."""
        return cls(f"queue:{{{validate_name(queue, 'queue name', max_length=64)}}}")

    @classmethod
    def task_queue_part(cls, queue: str, part: str) -> CacheKey:
        """A queue's other structures (``running``, ``dead``, ``wake``), in its hash tag."""
        return cls(f"{cls.task_queue(queue).value}:{validate_name(part, 'queue part')}")


def _correlation(correlation_id: UUID | str) -> str:
    if isinstance(correlation_id, UUID):
        return str(correlation_id)
    return validate_token(correlation_id, "correlation ID")
