"""A user's task module, as ``jeex-cache worker tests.unit._worker_app:settings`` loads it."""

from __future__ import annotations

from jeex_cache import Schedule, TaskContext, WorkerContext, WorkerSettings

__all__ = ["EVENTS", "settings"]

EVENTS: list[str] = []


async def startup(ctx: WorkerContext) -> None:
    EVENTS.append("startup")
    ctx.state["greeting"] = "hello"
    await greet.enqueue("ada")


async def shutdown(ctx: WorkerContext) -> None:
    EVENTS.append("shutdown")


settings = WorkerSettings(
    queue="app",
    concurrency=2,
    max_running_per_project=3,
    task_timeout=5.0,
    schedules=[Schedule("0 3 * * *", "greet", {"who": "cron"}, missed="skip")],
    on_startup=startup,
    on_shutdown=shutdown,
)


@settings.task
async def greet(ctx: TaskContext, who: str) -> str:
    EVENTS.append(f"{ctx.state['greeting']} {who}")
    return who
