"""The request-body limit: an oversized body is refused with 413 before it is read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.fastapi.limits import body_limit_for
from jeex_cache.web import create_app
from jeex_cache.web.errors import status_name
from tests.web._serve import serve
from tests.web.conftest import log_in

MAX_PAYLOAD = 1_000
PROJECT = uuid4()
LIMIT = body_limit_for(MAX_PAYLOAD)


@pytest.fixture
async def small_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose cache accepts values of at most 1,000 bytes."""
    manager = CacheManager(Settings(redis_url=None, cache_max_payload_bytes=MAX_PAYLOAD))
    async with serve(create_app(manager=manager)) as client:
        await log_in(client, PROJECT)
        yield client


def test_limit_is_the_payload_limit_and_a_small_envelope() -> None:
    assert LIMIT == MAX_PAYLOAD + 64 * 1024
    assert body_limit_for(1_048_576) < 2_000_000


def many_empty_objects(size: int) -> bytes:
    """A body of ``size`` bytes, ``{"data": [{},{},...]}``: cheap to send, dear to parse."""
    head, tail = b'{"data": [{}', b"]}"
    count = (size - len(head) - len(tail)) // 3
    return head + b",{}" * count + tail


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_payload_limit_is_refused_before_parsing(
    settings: Settings, chunked: bool
) -> None:
    """Default settings: 2 MB of ``[{},{},...]`` is 413 from the body limit, not from the
    cache's payload check after parsing it all (some 50 MB of objects)."""
    body = many_empty_objects(2_000_000)
    limit = body_limit_for(settings.cache_max_payload_bytes)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    async with serve(create_app(Settings(redis_url=settings.redis_url))) as client:
        project = uuid4()
        await log_in(client, project)
        response = await client.put(
            f"/projects/{project}/cache",
            content=chunks() if chunked else body,
            headers={"content-type": "application/json"},
        )
        assert ("content-length" in response.request.headers) is not chunked
        assert response.status_code == 413, response.text
        assert response.json() == {
            "type": "about:blank",
            "title": "Request Entity Too Large",
            "status": 413,
            "error": status_name(413),
            "detail": f"request body is over the limit of {limit} bytes",
        }
        # A value just under the payload limit still fits.
        value = "x" * (settings.cache_max_payload_bytes - 2)  # its quotes make up the rest
        fits = await client.put(f"/projects/{project}/cache", json={"data": value})
        assert fits.status_code == 200, fits.text


async def test_declared_length_over_the_limit_is_413(small_client: httpx.AsyncClient) -> None:
    body = b'{"data": "' + b"x" * LIMIT + b'"}'
    response = await small_client.put(
        f"/projects/{uuid4()}/cache", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json() == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "error": status_name(413),
        "detail": f"request body is over the limit of {LIMIT} bytes",
    }


async def test_streamed_body_over_the_limit_is_413(small_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"data": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = await small_client.put(  # a project of the session: the body is then read
        f"/projects/{PROJECT}/cache", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json() == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "error": status_name(413),
        "detail": f"request body is over the limit of {LIMIT} bytes",
    }


async def test_body_within_the_limit_reaches_the_cache_check(
    small_client: httpx.AsyncClient,
) -> None:
    pid = PROJECT
    response = await small_client.put(f"/projects/{pid}/cache", json={"data": "x" * MAX_PAYLOAD})
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLargeError"

    fits = await small_client.put(f"/projects/{pid}/cache", json={"data": "x" * 100})
    assert fits.status_code == 200, fits.text
