"""Task keys and IDs. Every key of one queue is in the queue's hash tag: ``queue:{<q>}`` (its
scheduled tasks) and ``queue:{<q>}:<part>`` (records, ready indexes, ring...). A task ID of
the form ``<queue>=<token>`` names its queue; any other ID (a caller's own) is found through
its pointer ``task:{<id>}``, whose value is the queue's name. A task of a project has its ID
in the project's scope (``@<project>@<id>``, see ``core.identifiers.scope_id``), so two
projects' equal IDs are two tasks, with two pointers.
"""

from __future__ import annotations

from jeex_cache.core.errors import InvalidInputError
from jeex_cache.core.identifiers import SCOPE_LENGTH, scope_of, validate_name, validate_token
from jeex_cache.core.keys import StorageKey, key

__all__ = [
    "QUEUE_MARK",
    "check_id_queue",
    "queue_of",
    "task",
    "task_queue",
    "task_queue_part",
    "validate_task_id",
]

QUEUE_MARK = "="
"""Separates the queue from the rest of a queue-named task ID (``emails=3f2a...``)."""


def validate_task_id(task_id: str) -> str:
    """A task ID: a token (letters, digits, ``_-.@+=``), optionally ``<queue>=`` first, and
    optionally in a project's scope (``@<project>@`` first)."""
    own = scope_of(task_id)[1] if isinstance(task_id, str) else task_id
    if isinstance(own, str) and QUEUE_MARK in own:
        queue, _, rest = own.partition(QUEUE_MARK)
        validate_name(queue, "task ID's queue", max_length=64)
        validate_token(rest, "task ID")
        return task_id
    validate_token(own, "task ID")
    return task_id


_SCOPES_SEEN: set[str] = set()
"""Project scopes (``@<project>@``) already checked by ``scope_of``: a worker settles many
tasks of few projects, and parsing each one's project again is most of its cost."""


def queue_of(task_id: str) -> str | None:
    """The queue a (validated) task ID names, or None for a caller's own ID."""
    own = task_id
    if task_id.startswith("@"):
        end = task_id.find("@", 1) + 1  # a project never holds '@': its scope ends at the next
        if task_id[:end] not in _SCOPES_SEEN:
            own = scope_of(task_id)[1]  # refuses a malformed scope
            if len(_SCOPES_SEEN) >= 1_000:
                _SCOPES_SEEN.clear()
            _SCOPES_SEEN.add(task_id[:end])
        else:
            own = task_id[end:]
    queue, mark, _ = own.partition(QUEUE_MARK)
    return queue if mark else None


def check_id_queue(task_id: str, queue: str) -> None:
    """Refuse a queue-named ID given for another queue."""
    named = queue_of(task_id)
    if named is not None and named != queue:
        raise InvalidInputError(f"task ID names queue {named!r}, not {queue!r}")


def task(task_id: str) -> StorageKey:
    """Where a caller-chosen task ID's queue is recorded."""
    return key("task", validate_token(task_id, "task ID", max_length=128 + SCOPE_LENGTH))


def task_queue(queue: str) -> StorageKey:
    """A background task queue (its scheduled tasks)."""
    return key("queue", validate_name(queue, "queue name", max_length=64))


def task_queue_part(queue: str, part: str) -> StorageKey:
    """A queue's other structures (``running``, ``dead``, ``wake``...), in its hash tag."""
    tag = validate_name(queue, "queue name", max_length=64)
    return key("queue", tag, validate_name(part, "queue part"))
