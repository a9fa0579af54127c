"""A small multi-tenant FastAPI app on jeex-cache: its own login, sessions in a cookie,
project routes with access checks, a cached report (ETag, invalidated on update), per-user
and per-IP limits, and a job run by a worker whose progress a page shows live.

    uvicorn examples.fastapi_app.app:app        # in memory; REDIS_URL=redis://... for Redis
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from jeex_cache import CacheManager, Settings, TaskContext, UserSession, Worker, parse_id
from jeex_cache.fastapi import (
    Problem,
    RateLimitPolicy,
    RateLimitRule,
    cached,
    clear_session_cookie,
    install,
    lifespan,
    progress_stream,
    rate_limit,
    require_project_access,
    require_session,
    set_session_cookie,
)

# The app's own database: two users (integer keys), two projects (slugs), a report each.
ACME, GLOBEX = "acme", "globex"
USERS = {
    "ada": ("lovelace", 1, [ACME, GLOBEX]),
    "bob": ("builder", 2, [GLOBEX]),
}
REPORTS: dict[str, dict[str, Any]] = {ACME: {"title": "Acme"}, GLOBEX: {"title": "Globex"}}
QUERIES = {"report": 0}  # how often the "database" was asked, for the tests

Session = Annotated[UserSession, Depends(require_session)]
ProjectSession = Annotated[UserSession, Depends(require_project_access())]
per_ip_login = rate_limit(RateLimitRule.per_ip(RateLimitPolicy.per(minute=5, name="login")))
per_user = rate_limit(RateLimitRule.per_user(RateLimitPolicy.per(minute=30)))


class Login(BaseModel):
    username: str
    password: str


class ReportUpdate(BaseModel):
    title: str


async def build_report(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The worker's job: a report in three steps, reporting its progress."""
    await ctx.start_progress(3, "collecting")
    for step, message in enumerate(["aggregating", "rendering", "done"], start=1):
        await asyncio.sleep(payload.get("pause", 0.05))
        await ctx.report_progress(step, message)
    return {"pages": 3}


def create_app(manager: CacheManager | None = None) -> FastAPI:
    """The app over ``manager`` (default: settings from the environment)."""
    manager = manager or CacheManager(Settings())

    @contextlib.asynccontextmanager
    async def run_worker(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(manager, "reports", {"build_report": build_report})
        running = asyncio.create_task(worker.run())
        yield
        worker.stop()
        await running

    app = FastAPI(title="Reports", lifespan=lifespan(manager, run_worker))
    install(app, manager)

    @app.post("/login", dependencies=[Depends(per_ip_login)])
    async def login(body: Login, response: Response) -> dict[str, str]:
        password, user_id, projects = USERS.get(body.username, ("", None, []))
        if user_id is None or body.password != password:
            raise Problem(401, "wrong username or password")
        session = await manager.create_user_session(user_id, {"name": body.username}, projects)
        if session is None:
            raise Problem(503, "sessions are unavailable; try again shortly")
        set_session_cookie(response, session, settings=manager.settings)
        return {"user": body.username}

    @app.post("/logout", status_code=204, response_model=None)
    async def logout(session: Session, response: Response) -> None:
        assert session.session_id is not None
        await manager.revoke_user_session(session.session_id, "logout")
        clear_session_cookie(response, settings=manager.settings)

    @app.get("/projects/{project_id}/report", dependencies=[Depends(per_user)])
    @cached(60, tags=["report"], per_user=False)
    async def report(project_id: str, session: ProjectSession) -> dict[str, Any]:
        QUERIES["report"] += 1
        return {"project": project_id, **REPORTS[project_id]}

    @app.put("/projects/{project_id}/report", dependencies=[Depends(per_user)])
    async def update_report(
        project_id: str, body: ReportUpdate, session: ProjectSession
    ) -> dict[str, str]:
        REPORTS[project_id] = {"title": body.title}
        await manager.project(project_id).invalidate_tag("report")
        return {"title": body.title}

    @app.post("/projects/{project_id}/jobs", status_code=202, dependencies=[Depends(per_user)])
    async def start_job(project_id: str, session: ProjectSession) -> dict[str, str]:
        job_id = await manager.enqueue_task("reports", "build_report", {}, project_id=project_id)
        # the page may open before a worker takes the job: track it as queued from now on
        # (the task's project owns it; a worker that started first is left alone: EXISTS)
        await manager.start_progress_tracking(job_id, 3, "queued")
        return {"job_id": job_id, "page": f"/projects/{project_id}/jobs/{job_id}"}

    @app.get("/projects/{project_id}/jobs/{job_id}/events")
    async def job_events(
        project_id: str, job_id: str, session: ProjectSession, request: Request
    ) -> Response:
        return await progress_stream(
            manager, job_id, request, allow=lambda owner: owner == parse_id(project_id)
        )

    @app.get("/projects/{project_id}/jobs/{job_id}", response_class=HTMLResponse)
    async def job_page(project_id: str, job_id: str, session: ProjectSession) -> str:
        return PAGE.replace("EVENTS", f"/projects/{project_id}/jobs/{job_id}/events")

    return app


PAGE = """<!doctype html><meta charset="utf-8"><title>Report job</title>
<progress id="bar" max="100" value="0"></progress> <span id="status">waiting</span>
<script>
const events = new EventSource("EVENTS");
for (const kind of ["started", "progress", "completed", "failed"]) {
  events.addEventListener(kind, (e) => {
    const data = JSON.parse(e.data);
    document.getElementById("bar").value = data.percentage;
    document.getElementById("status").textContent = data.status + ": " + data.message;
    if (kind === "completed" || kind === "failed") events.close();
  });
}
</script>
"""

app = create_app()
