"""``@cached(ttl)``: a route's JSON response cached per project, with ETag and 304.

    @app.get("/projects/{project_id}/report")
    @cached(60, tags=["reports"])
    async def report(project_id: str, session: ProjectSession) -> dict: ...

The response is cached per project, path, query string, ``vary`` headers and (unless
``per_user=False``) session user, through the project cache's loader: on a miss one caller
of the whole deployment runs the route, the others wait for its value. The response carries
a strong ``ETag`` (the entry's version and a token of the fill that wrote it) and
``Cache-Control: private, max-age=<seconds left>``. A request whose ``If-None-Match`` holds
the current ETag gets 304, and the route is not called. ``invalidate_by_tag`` or
``invalidate_project_cache`` drop the entry: the next request runs the route and gets a new
ETag. Only 2xx JSON responses are cached; an error (an ``HTTPException``, a non-2xx
``Response``) reaches the client and nothing is stored.

With ``stale_ttl``, the last body is served for that long past ``ttl`` when the route
fails (stale-if-error). The route never runs after its request has ended: its dependencies
(a database session) would be closed by then.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi.encoders import jsonable_encoder
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jeex_cache import ProjectCache, TagLike
from jeex_cache.core.errors import ConfigurationError
from jeex_cache.core.identifiers import CanonicalId, parse_id
from jeex_cache.core.ttl import TTLLike, as_ttl
from jeex_cache.fastapi._app import manager_of
from jeex_cache.fastapi.rate_limit import session_user

__all__ = ["cached", "entry_name"]

Route = TypeVar("Route", bound=Callable[..., Awaitable[Any]])

_REQUEST = "jeex_cache_request"  # the parameter added to a route that takes no Request
ENTRY_PREFIX = "http."


class _Uncacheable(Exception):  # noqa: N818 - a carrier, never seen outside this module
    """The route answered with a response that is not cached (non-2xx, not JSON)."""

    def __init__(self, response: Response) -> None:
        self.response = response


def entry_name(request: Request, vary: Iterable[str], user: object) -> str:
    """The cache entry of a request: ``http.`` and a hash of its path, sorted query, ``vary``
    header values and user (entry names allow only ``[A-Za-z0-9_.-]``, at most 100)."""
    material = [request.url.path, sorted(request.query_params.multi_items())]
    material.append([[name, request.headers.get(name, "")] for name in vary])
    material.append(str(user))
    digest = hashlib.sha256(orjson.dumps(material)).hexdigest()[:48]
    return ENTRY_PREFIX + digest


def cached(
    ttl: TTLLike,
    *,
    tags: Iterable[TagLike] = (),
    vary: Iterable[str] = (),
    project_param: str = "project_id",
    stale_ttl: TTLLike | None = None,
    per_user: bool = True,
) -> Callable[[Route], Route]:
    """Cache the decorated ``async`` route's 2xx JSON body for ``ttl`` (see the module).

    Put it under the route decorator. ``per_user`` (default) keys the cache by
    ``request.state.user_id``, which ``require_session`` or ``require_project_access`` set:
    without it the request is a ``ConfigurationError`` (500), never another user's body.
    ``per_user=False`` shares one body among the project's users.
    """
    fresh = as_ttl(ttl).milliseconds / 1000
    stale = 0.0 if stale_ttl is None else as_ttl(stale_ttl).milliseconds / 1000
    tag_list = tuple(tags)
    vary_names = tuple(name.lower() for name in vary)

    def decorate(route: Route) -> Route:
        if not inspect.iscoroutinefunction(route):
            raise TypeError(f"@cached needs an async route; {route.__qualname__} is not")
        signature = inspect.signature(route, eval_str=True)
        given = next(
            (p.name for p in signature.parameters.values() if p.annotation is Request), None
        )

        @functools.wraps(route)
        async def serve(*args: Any, **kwargs: Any) -> Any:
            request: Request = kwargs[given] if given else kwargs.pop(_REQUEST)
            if request.method != "GET":
                return await route(*args, **kwargs)
            manager = manager_of(request)
            project = _project(request, project_param)
            user = _user(request) if per_user else "*"
            name = entry_name(request, vary_names, user)
            view = manager.project(project)
            now = datetime.fromtimestamp(manager.clock.time(), UTC)
            entry = await view.get_entry(name)
            left = -1.0 if entry is None else entry.ttl_remaining(now)
            if entry is None or left <= stale:

                async def load() -> dict[str, Any]:
                    return _stored(await route(*args, **kwargs), request)

                try:
                    loaded = await view.read_or_load(
                        name, load, fresh, tags=tag_list, stale_ttl=stale_ttl,
                        early_refresh=False, stale_while_revalidate=False,
                    )  # fmt: skip
                except _Uncacheable as uncacheable:
                    return uncacheable.response
                entry = await view.get_entry(name)
                if entry is None:  # the backend failed, or it was invalidated at once
                    return _uncached(loaded.value)
                left = entry.ttl_remaining(datetime.fromtimestamp(manager.clock.time(), UTC))
            return _answer(request, entry, max(0.0, left - stale), vary_names)

        if given is None:
            extra = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
            parameters = [*signature.parameters.values(), extra]
            serve.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        else:
            serve.__signature__ = signature  # type: ignore[attr-defined]
        return serve  # type: ignore[return-value]

    return decorate


def _project(request: Request, param: str) -> CanonicalId:
    raw = request.path_params.get(param)
    if raw is None:
        raise ConfigurationError(
            f"@cached on {request.url.path}: the route has no path parameter {param!r}; "
            f"pass project_param= the one that holds the project ID"
        )
    return parse_id(raw)


def _user(request: Request) -> object:
    user = session_user(request)
    if user is None:
        raise ConfigurationError(
            f"@cached on {request.url.path} is per user but the request has no user: add "
            "Depends(require_session) or Depends(require_project_access()) to the route, "
            "or pass per_user=False if the response is the same for every user of the project"
        )
    return user


def _stored(value: Any, request: Request) -> dict[str, Any]:
    """What the cache keeps of a route's answer; ``_Uncacheable`` for what it does not."""
    if isinstance(value, Response):
        if not 200 <= value.status_code < 300 or value.media_type != "application/json":
            raise _Uncacheable(value)
        return {"body": orjson.loads(value.body), "status": value.status_code,
                "fill": secrets.token_hex(8)}  # fmt: skip
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    return {"body": jsonable_encoder(value), "status": status, "fill": secrets.token_hex(8)}


def etag_of(entry: ProjectCache) -> str:
    """The strong ETag of a cached response: its version and its fill's token (a version
    starts again at 1 after an invalidation; the token tells the two fills apart)."""
    return f'"{entry.version}-{entry.data["fill"]}"'


def _answer(
    request: Request, entry: ProjectCache, max_age: float, vary: tuple[str, ...]
) -> Response:
    etag = etag_of(entry)
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={int(max_age)}"}
    if vary:
        headers["Vary"] = ", ".join(vary)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    # orjson, not JSONResponse's json.dumps: several times faster on a hit, the same JSON.
    body = orjson.dumps(entry.data["body"])
    return Response(body, entry.data["status"], headers, media_type=JSONResponse.media_type)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison, as ``If-None-Match`` asks."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _uncached(stored: dict[str, Any]) -> Response:
    """The route's answer when no entry holds it: no ETag, and not to be stored."""
    return JSONResponse(
        stored["body"], status_code=stored["status"], headers={"Cache-Control": "no-store"}
    )
