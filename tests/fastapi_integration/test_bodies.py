"""The body guards in your own app: read after the access check, bounded, parsed in turns."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from jeex_cache import CacheManager, UserSession
from jeex_cache.fastapi import (
    BodySizeLimit,
    json_body,
    request_body,
    require_project_access,
)
from tests.fastapi_integration.conftest import bearer, new_app, serve

ProjectSession = Annotated[UserSession, Depends(require_project_access())]
MAX_BYTES = 2_000


class Note(BaseModel):
    text: str


def notes_app(manager: CacheManager, reads: list[str]) -> FastAPI:
    app = new_app(manager)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BYTES)

    @app.put("/projects/{project_id}/note", openapi_extra=request_body(Note))
    async def put_note(project_id: UUID, _: ProjectSession, request: Request) -> dict[str, str]:
        async with json_body(request, Note) as note:
            reads.append(note.text)
        return {"text": note.text}

    return app


async def test_a_body_is_read_only_after_the_access_check_and_bounded(
    manager: CacheManager,
) -> None:
    reads: list[str] = []
    project = uuid4()
    async with serve(notes_app(manager, reads)) as client:
        headers = await bearer(manager, project)
        stored = await client.put(f"/projects/{project}/note", json={"text": "hi"}, headers=headers)
        assert stored.json() == {"text": "hi"}
        other = await client.put(f"/projects/{uuid4()}/note", json={"text": "x"}, headers=headers)
        assert other.status_code == 404
        big = await client.put(
            f"/projects/{project}/note", json={"text": "x" * MAX_BYTES}, headers=headers
        )
        assert big.status_code == 413
        assert big.headers["content-type"] == "application/problem+json"
        deep = await client.put(
            f"/projects/{project}/note", content=b"[" * 500 + b"]" * 500, headers=headers
        )
        assert deep.status_code == 413, deep.text
        assert deep.json()["error"] == "JsonShapeError"
        invalid = await client.put(f"/projects/{project}/note", json={"txt": 1}, headers=headers)
        assert invalid.status_code == 422
    assert reads == ["hi"]
