"""Bodies are read after the credentials, parsed a few at a time, and bounded in shape.

On both backends: an anonymous caller's body is never read; a caller past the concurrent
bodies waits, then gets 503; a body too deep or with too many elements is 413 before any
Python object is built from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from jeex_cache import CacheManager, Settings
from jeex_cache.fastapi.bodies import BodyGate
from jeex_cache.web import create_app
from tests.web._serve import issuer, serve
from tests.web.conftest import log_in

PROJECT = uuid4()
JSON = {"content-type": "application/json"}


@pytest.fixture
async def tight(settings: Settings) -> AsyncIterator[CacheManager]:
    """The backend under test, with one body at a time, a short wait and small JSON bounds."""
    tuned = settings.model_copy(
        update={
            "http_max_concurrent_bodies": 1,
            "http_body_wait_seconds": 0.2,
            "http_max_json_depth": 8,
            "http_max_json_elements": 1_000,
        }
    )
    async with CacheManager(tuned) as manager:
        yield manager


@pytest.fixture
def tight_app(tight: CacheManager) -> FastAPI:
    return create_app(manager=tight)


@pytest.fixture
async def member(tight_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose session may use ``PROJECT``."""
    async with serve(tight_app) as client:
        await log_in(client, PROJECT)
        yield client


class Counted:
    """A streamed body that counts the chunks the server pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"data": ['
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"[]," * 1_000
        yield b"[]]}"


@pytest.mark.parametrize("path", ["/projects/{project}/cache", "/sessions"])
async def test_a_caller_without_credentials_has_its_body_left_unread(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    body = Counted(100)
    url = path.format(project=uuid4())
    method = "PUT" if "projects" in path else "POST"
    response = await anonymous.request(method, url, content=body, headers=JSON)
    assert response.status_code == 401, response.text
    assert body.pulled <= 1  # the transport may pull one chunk ahead; never the body


async def test_a_session_without_the_project_has_its_body_left_unread(
    client: httpx.AsyncClient,
) -> None:
    body = Counted(100)
    response = await client.put(f"/projects/{uuid4()}/cache", content=body, headers=JSON)
    assert response.status_code == 404, response.text  # not granted
    assert body.pulled <= 1


async def test_past_the_concurrent_bodies_a_caller_waits_then_gets_503(
    member: httpx.AsyncClient, tight_app: FastAPI
) -> None:
    gate: BodyGate = tight_app.state.body_gate
    url = f"/projects/{PROJECT}/cache"
    async with gate.turn():  # the one turn is taken
        busy = await member.put(url, json={"data": 1})
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        assert "HTTP_MAX_CONCURRENT_BODIES" in busy.json()["detail"]
        login = await member.post(
            "/sessions", json={"user_id": str(uuid4())}, headers=issuer(member)
        )
        assert login.status_code == 503
    assert (await member.put(url, json={"data": 1})).status_code == 200  # the turn is back
    assert (await member.get(url)).json()["data"] == 1


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        (b'{"data": [' + b"1," * 1_000 + b"1]}", "HTTP_MAX_JSON_ELEMENTS"),
        (b'{"data": ' + b"[" * 9 + b"]" * 9 + b"}", "HTTP_MAX_JSON_DEPTH"),
    ],
)
async def test_a_body_too_large_in_shape_is_413_and_stores_nothing(
    member: httpx.AsyncClient, body: bytes, limit: str
) -> None:
    url = f"/projects/{PROJECT}/cache"
    response = await member.put(url, content=body, headers=JSON)
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "JsonShapeError"
    assert limit in response.json()["detail"]
    assert (await member.get(url)).status_code == 404
    within = b'{"data": ' + b"[" * 7 + b'"[[[[[[[[[[,,,"' + b"]" * 7 + b"}"  # text is no structure
    assert (await member.put(url, content=within, headers=JSON)).status_code == 200


async def test_unpaired_brackets_are_the_parsers_422(member: httpx.AsyncClient) -> None:
    response = await member.put(f"/projects/{PROJECT}/cache", content=b"[" * 100, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_not_declared_json_is_422_and_stores_nothing(
    member: httpx.AsyncClient, kind: str
) -> None:
    """What a cross-site form can send is never parsed as the JSON it may spell."""
    url = f"/projects/{PROJECT}/cache"
    response = await member.put(url, content=b'{"data": 1}', headers={"content-type": kind})
    assert response.status_code == 422, response.text
    assert (await member.get(url)).status_code == 404
    typed = {"content-type": "application/merge-patch+json; charset=utf-8"}
    assert (await member.put(url, content=b'{"data": 1}', headers=typed)).status_code == 200
