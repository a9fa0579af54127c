"""The tasks' rows of the failure table: a task and its state are never guessed (they raise)."""

from __future__ import annotations

from jeex_cache.core.resilience import Family

__all__ = ["TASK_CONTROL", "TASK_ENQUEUE", "TASK_PROGRESS_OWNER", "TASK_WORKER"]

TASK_ENQUEUE = Family("task_enqueue", "a task is never lost silently")
TASK_CONTROL = Family("task_control", "a task's state is never guessed")
TASK_WORKER = Family(
    "task_worker",
    "the worker backs off and retries; an unsettled delivery returns after its visibility timeout",
)
TASK_PROGRESS_OWNER = Family(
    "task_progress_owner",
    "the task stays queued; its progress stays ownerless, which HTTP never shows",
    fallback=lambda: None,
)
