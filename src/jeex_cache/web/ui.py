"""``GET /ui``: the operations dashboard, for holders of the issuer token.

An operator logs in at ``/ui/login`` with the issuer token (``SESSION_ISSUER_TOKEN``) and gets
the login cookie ``jeex_ui``; ``POST /ui/logout`` revokes that login at once. A script may send
``Authorization: Bearer <issuer token>`` instead (``jeex_cache.web.operator``). The requeue
POST also needs the header ``X-Jeex-UI``, which a cross-site form cannot send.

The page polls ``/ui/api/overview``: health, circuit and memory, per-operation rates and
latency percentiles, and for each ``METRICS_QUEUES`` queue its depths, dead tasks and the
progress of running ones.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from jeex_cache.core.errors import BackendError
from jeex_cache.fastapi.bodies import json_body
from jeex_cache.fastapi.credentials import credential_failed
from jeex_cache.manager import CacheManager
from jeex_cache.metrics import public_operation
from jeex_cache.web.credentials import BearerToken
from jeex_cache.web.errors import error_response
from jeex_cache.web.operator import (
    COOKIE,
    LOGIN_SECONDS,
    OPERATOR,
    is_operator,
    login_cookie,
    parse_login,
)
from jeex_cache.web.pages import STATIC, page
from jeex_cache.web.routes import Manager

__all__ = ["COOKIE", "LOGIN_SECONDS", "router"]

DEAD_SHOWN = 50  # dead tasks listed per queue
RUNNING_SHOWN = 20  # running tasks whose progress is shown per queue
MAX_LOGIN_FORM_BYTES = 4_096
_CSRF_HEADER = "x-jeex-ui"

router = APIRouter(prefix="/ui", include_in_schema=False)


async def require_operator(request: Request, manager: Manager) -> None:
    """401 unless the caller is an operator."""
    if not await is_operator(request, manager):
        raise HTTPException(
            401,
            "the dashboard needs the issuer token (JEEX_SESSION_ISSUER_TOKEN): log in at /ui/login",
            {"WWW-Authenticate": "Bearer"},
        )


Operator = Annotated[None, Depends(require_operator)]


@router.get("")
async def dashboard(request: Request, manager: Manager) -> Response:
    """The dashboard; the login page for a caller who is not logged in."""
    if not await is_operator(request, manager):
        return RedirectResponse("/ui/login", status_code=303)
    return page(STATIC / "ui.html")


@router.get("/login")
async def login_page() -> Response:
    """The operator's login form."""
    return page(STATIC / "login.html")


@router.post("/login")
async def login(request: Request, manager: Manager) -> Response:
    """Check the posted issuer token; log the operator in and go to the dashboard."""
    form = parse_qs((await _login_form(request)).decode("utf-8", "replace"))
    presented = (form.get("token") or [""])[0].strip().encode()
    issuer: BearerToken = request.app.state.session_issuer
    if not hmac.compare_digest(presented, issuer.token.encode()):
        credential_failed(request)
        return RedirectResponse("/ui/login?failed=1", status_code=303)
    session = await manager.create_user_session(OPERATOR, {"jeex_ui": True})
    if session is None or session.session_id is None:
        return error_response(
            503,
            "BackendUnavailable",
            "the session store is unavailable: no login can be made now; scripts may send "
            "'Authorization: Bearer <issuer token>'",
        )
    lifetime = (session.absolute_expires_at - session.last_activity).total_seconds()
    expires = int(time.time() + min(LOGIN_SECONDS, lifetime))
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(
        COOKIE,
        login_cookie(issuer, expires, session.session_id),
        max_age=max(1, expires - int(time.time())),
        path="/ui",
        secure=manager.settings.cache_session_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


async def _login_form(request: Request) -> bytes:
    form = bytearray()
    async for chunk in request.stream():
        form += chunk
        if len(form) > MAX_LOGIN_FORM_BYTES:
            raise HTTPException(413, f"the login form is over {MAX_LOGIN_FORM_BYTES} bytes")
    return bytes(form)


@router.post("/logout")
async def logout(request: Request, manager: Manager) -> Response:
    """End the operator's login: its session is revoked, the cookie cleared."""
    issuer: BearerToken = request.app.state.session_issuer
    login = parse_login(issuer, request.cookies.get(COOKIE, ""))
    if login is not None:
        await manager.revoke_user_session(login.session_id, "logout")  # 503 if it cannot be
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(
        COOKIE,
        path="/ui",
        secure=manager.settings.cache_session_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/api/overview")
async def overview(manager: Manager, _: Operator) -> JSONResponse:
    """What the dashboard shows, in one JSON document."""
    health = await manager.health_check()
    metrics = await manager.get_performance_metrics()
    now = time.time()
    uptime = max(now - metrics.get("since", now), 1e-9)
    operations: dict[str, dict[str, Any]] = {}
    for name, stats in metrics["operations"].items():
        label = public_operation(name)
        latency = stats["latency_ms"]
        into = operations.setdefault(label, {"count": 0, "errors": 0, **latency})
        into["count"] += stats["count"]
        into["errors"] += stats["errors"]
        into["rate"] = round(into["count"] / uptime, 3)
    queues = [await _queue(manager, queue) for queue in manager.settings.metrics_queue_names]
    body = {"now": now, "health": health, "operations": operations, "queues": queues}
    return JSONResponse(orjson.loads(orjson.dumps(body, default=str)))


async def _queue(manager: CacheManager, queue: str) -> dict[str, Any]:
    try:
        stats = await manager.get_queue_stats(queue, RUNNING_SHOWN)
        dead = await manager.list_dead_tasks(queue, DEAD_SHOWN)
    except BackendError as exc:
        return {"queue": queue, "error": str(exc), "pending": None, "running": None,
                "dead": None, "dead_tasks": [], "running_tasks": []}  # fmt: skip
    running = []
    for task_id in stats.running_ids:
        progress = await manager.get_progress(task_id)
        shown = None
        if progress is not None:
            shown = {key: progress[key] for key in ("percentage", "message", "status")}
        running.append({"task_id": task_id, "progress": shown})
    return {
        "queue": queue,
        "pending": stats.pending,
        "running": stats.running,
        "dead": stats.dead,
        "dead_tasks": [
            {"task_id": t.task_id, "name": t.name, "attempts": t.attempts, "error": t.error}
            for t in dead
        ],
        "running_tasks": running,
    }


class RequeueBody(BaseModel):
    """``POST /ui/api/queues/{queue}/requeue``: the dead tasks to requeue (null: all)."""

    task_ids: list[str] | None = None


@router.post("/api/queues/{queue}/requeue")
async def requeue(queue: str, request: Request, manager: Manager, _: Operator) -> JSONResponse:
    """Requeue the dead tasks named in ``{"task_ids": [...]}`` (all with null)."""
    if request.headers.get(_CSRF_HEADER) != "1":
        raise HTTPException(403, "send the header 'X-Jeex-UI: 1' (the dashboard does)")
    async with json_body(request, RequeueBody) as body:
        requeued = await manager.requeue_dead_tasks(queue, body.task_ids)
    return JSONResponse({"queue": queue, "requeued": requeued})
