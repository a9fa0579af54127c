"""``GET /ui``: the operations dashboard, for holders of the issuer token.

An operator logs in at ``/ui/login`` with the issuer token (``SESSION_ISSUER_TOKEN``). The
answer is a cookie ``jeex_ui`` (HttpOnly, ``SameSite=Strict``, path ``/ui``, 8 hours) holding
an expiry and its HMAC under the issuer token: never the token itself, and stateless, so every
worker process of one deployment accepts it. A script may send ``Authorization: Bearer
<issuer token>`` instead. The requeue POST also needs the header ``X-Jeex-UI``, which a
cross-site form cannot send.

The page polls ``/ui/api/overview``: health, circuit and memory, per-operation rates and
latency percentiles, and for each ``METRICS_QUEUES`` queue its depths, dead tasks and the
progress of running ones.
"""

from __future__ import annotations

import hashlib
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
from jeex_cache.manager import CacheManager
from jeex_cache.web.bodies import json_body
from jeex_cache.web.credentials import BearerToken
from jeex_cache.web.metrics import public_operation
from jeex_cache.web.pages import STATIC, page
from jeex_cache.web.routes import Manager

__all__ = ["COOKIE", "LOGIN_SECONDS", "router"]

COOKIE = "jeex_ui"
LOGIN_SECONDS = 8 * 3600
DEAD_SHOWN = 50  # dead tasks listed per queue
RUNNING_SHOWN = 20  # running tasks whose progress is shown per queue
_CSRF_HEADER = "x-jeex-ui"

router = APIRouter(prefix="/ui", include_in_schema=False)


def _signature(issuer: BearerToken, expires: int) -> str:
    key = issuer.token.encode()
    return hmac.new(key, f"jeex-ui:{expires}".encode(), hashlib.sha256).hexdigest()


def _operator(request: Request) -> bool:
    """Whether the request comes from an operator: the issuer token, or a valid login cookie."""
    issuer: BearerToken = request.app.state.session_issuer
    if issuer.accepts(request):
        return True
    expires_text, _, signature = request.cookies.get(COOKIE, "").partition(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return False
    return hmac.compare_digest(signature, _signature(issuer, int(expires_text)))


def require_operator(request: Request) -> None:
    """401 unless the caller is an operator."""
    if not _operator(request):
        raise HTTPException(
            401,
            "the dashboard needs the issuer token (SESSION_ISSUER_TOKEN): log in at /ui/login",
            {"WWW-Authenticate": "Bearer"},
        )


Operator = Annotated[None, Depends(require_operator)]


@router.get("")
async def dashboard(request: Request) -> Response:
    """The dashboard; the login page for a caller who is not logged in."""
    if not _operator(request):
        return RedirectResponse("/ui/login", status_code=303)
    return page(STATIC / "ui.html")


@router.get("/login")
async def login_page() -> Response:
    """The operator's login form."""
    return page(STATIC / "login.html")


@router.post("/login")
async def login(request: Request, manager: Manager) -> Response:
    """Check the posted issuer token; set the operator cookie and go to the dashboard."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    presented = (form.get("token") or [""])[0].strip().encode()
    issuer: BearerToken = request.app.state.session_issuer
    if not hmac.compare_digest(presented, issuer.token.encode()):
        return RedirectResponse("/ui/login?failed=1", status_code=303)
    expires = int(time.time()) + LOGIN_SECONDS
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(
        COOKIE,
        f"{expires}.{_signature(issuer, expires)}",
        max_age=LOGIN_SECONDS,
        path="/ui",
        secure=manager.settings.cache_session_cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    """End the operator's login."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
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
