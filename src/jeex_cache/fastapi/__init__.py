"""``jeex_cache.fastapi``: jeex-cache in your own FastAPI app (the ``[fastapi]`` extra).

    manager = CacheManager()
    app = FastAPI(lifespan=lifespan(manager))
    install(app, manager)

    @app.get("/projects/{project_id}/report", dependencies=[Depends(rate_limit(per_user))])
    @cached(60, tags=["reports"])
    async def report(project_id: str, session: ProjectSession) -> dict: ...

See the guide "Use it in your FastAPI app" (docs/fastapi.md). Nothing of the library imports
this package: ``import jeex_cache``, ``CacheManager`` and ``Worker`` need no FastAPI.
"""

from __future__ import annotations

from jeex_cache.extras import require_extra

require_extra("fastapi", "jeex_cache.fastapi")

from jeex_cache import RateLimitPolicy
from jeex_cache.fastapi.bodies import BodyGate, json_body, request_body
from jeex_cache.fastapi.caching import cached
from jeex_cache.fastapi.client_ip import ClientAddress
from jeex_cache.fastapi.credential_limit import FailedCredentialLimit, failure_rule
from jeex_cache.fastapi.credentials import credential_failed
from jeex_cache.fastapi.json_bounds import JsonShapeError, check_json_shape
from jeex_cache.fastapi.limits import BodySizeLimit, body_limit_for
from jeex_cache.fastapi.problems import Problem, problem_response
from jeex_cache.fastapi.progress import progress_not_found, progress_stream
from jeex_cache.fastapi.progress_access import AccessEnded, while_allowed
from jeex_cache.fastapi.rate_limit import (
    RateLimitMiddleware,
    RateLimitRule,
    install_rate_limiting,
    rate_limit,
)
from jeex_cache.fastapi.rate_limit_http import RateLimitExceeded
from jeex_cache.fastapi.sessions import (
    clear_session_cookie,
    require_project_access,
    require_session,
    set_session_cookie,
)
from jeex_cache.fastapi.setup import install, lifespan, manager_of

__all__ = [
    "AccessEnded",
    "BodyGate",
    "BodySizeLimit",
    "ClientAddress",
    "FailedCredentialLimit",
    "JsonShapeError",
    "Problem",
    "RateLimitExceeded",
    "RateLimitMiddleware",
    "RateLimitPolicy",
    "RateLimitRule",
    "body_limit_for",
    "cached",
    "check_json_shape",
    "clear_session_cookie",
    "credential_failed",
    "failure_rule",
    "install",
    "install_rate_limiting",
    "json_body",
    "lifespan",
    "manager_of",
    "problem_response",
    "progress_not_found",
    "progress_stream",
    "rate_limit",
    "request_body",
    "require_project_access",
    "require_session",
    "set_session_cookie",
    "while_allowed",
]
