"""The reference service's endpoints: a project's cached document, tag invalidation, health.

Each route delegates to the ``CacheManager`` given to ``install``. The cache routes need a
session with access to the project (``jeex_cache.fastapi.require_project_access``): 401 without
a valid session, 404 for a project outside its access list, 503 if the session store is down.
The PUT checks the session's access before it reads the body (``jeex_cache.fastapi.json_body``).
Past the access check the manager never raises for a backend failure (reads miss, writes
fail, invalidations remove 0); a route reports such a failure as 503, deciding from its own
call's result (``read_project_entry``'s FAILED, an invalidation's None), never from the
process-wide failure tracker, which concurrent requests move.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from jeex_cache import UserSession, WriteOutcome, outcome_of
from jeex_cache.fastapi import manager_of, require_project_access
from jeex_cache.fastapi.bodies import json_body, request_body
from jeex_cache.manager import CacheManager
from jeex_cache.web.errors import error_response
from jeex_cache.web.schemas import (
    CacheEntry,
    CacheWrite,
    ErrorBody,
    Invalidated,
    Stored,
    WriteRefused,
)
from jeex_cache.web.sessions import Session

__all__ = ["Manager", "router"]

router = APIRouter()


Manager = Annotated[CacheManager, Depends(manager_of)]
ProjectSession = Annotated[UserSession, Depends(require_project_access())]
# Reasons end up in log records: one line of printable text.
Reason = Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]

_INVALID: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid session."},
    404: {"model": ErrorBody, "description": "No such project for this session."},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


def _unavailable(what: str, **extra: Any) -> JSONResponse:
    return error_response(503, "BackendUnavailable", f"the cache backend failed: {what}", **extra)


@router.put(
    "/projects/{project_id}/cache",
    response_model=Stored,
    responses={
        **_INVALID,
        409: {"model": WriteRefused},
        413: {"model": ErrorBody},
        503: {"model": WriteRefused},
    },
    summary="Cache a project's document",
    openapi_extra=request_body(CacheWrite),
)
async def put_project_cache(
    project_id: str, request: Request, manager: Manager, _: ProjectSession
) -> Stored | JSONResponse:
    """Store ``data``, unless the stored version is newer than ``version`` (409)."""
    async with json_body(request, CacheWrite) as body:
        result = await manager.write_project_data(
            project_id, body.data, body.ttl, tags=body.tags, version=body.version
        )
    if result.outcome is WriteOutcome.STORED and result.version is not None:
        return Stored(version=result.version)
    if result.outcome is WriteOutcome.STALE:
        return error_response(
            409,
            "StaleVersion",
            f"version {body.version} is older than the stored version {result.version}",
            stored=False,
            stored_version=result.version,
        )
    return _unavailable("nothing was stored", stored=False)


@router.get(
    "/projects/{project_id}/cache",
    response_model=CacheEntry,
    responses=_INVALID,
    summary="Read a project's document",
)
async def get_project_cache(
    project_id: str, manager: Manager, _: ProjectSession
) -> CacheEntry | JSONResponse:
    """The document with its version, times and access statistics; 404 on a miss."""
    read = await manager.read_project_entry(project_id)
    if read.value is not None:
        return CacheEntry.of(read.value)
    if read.failed:
        return _unavailable("the document could not be read")
    return error_response(404, "NotFound", f"nothing is cached for project {project_id}")


@router.delete(
    "/projects/{project_id}/cache",
    response_model=Invalidated,
    responses=_INVALID,
    summary="Invalidate everything cached for a project",
)
async def delete_project_cache(
    project_id: str, manager: Manager, _: ProjectSession, reason: Reason = "api"
) -> Invalidated | JSONResponse:
    """Remove the project's document and every other entry of the project."""
    done = await outcome_of(manager.invalidate_project_cache, project_id, reason)
    if done.failed:
        return _unavailable("nothing was invalidated")
    return Invalidated(invalidated=done.value)


@router.post(
    "/tags/{tag}/invalidate",
    response_model=Invalidated,
    responses=_INVALID,
    summary="Invalidate a tag in every project the session may access",
)
async def invalidate_tag(
    tag: str, manager: Manager, session: Session, reason: Reason = "api"
) -> Invalidated | JSONResponse:
    """Remove every entry tagged ``tag`` in the session's projects, and in no other: a
    session never reaches a project outside its access list, not even through a tag."""
    projects = session.project_access
    done = await outcome_of(manager.invalidate_tag_in_projects, tag, projects, reason)
    if done.failed:
        return _unavailable("nothing was invalidated")
    return Invalidated(invalidated=done.value)


@router.get(
    "/health",
    responses={503: {"description": "The backend is unhealthy."}},
    summary="Backend health",
)
async def health(manager: Manager) -> JSONResponse:
    """``manager.health_check()``: 200 when healthy or degraded, 503 when unhealthy."""
    report = await manager.health_check()
    return JSONResponse(report, status_code=503 if report.get("status") == "unhealthy" else 200)
