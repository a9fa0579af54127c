"""The reference service over both backends: round trips, versions, tags, and bad requests."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import httpx
import pytest

from jeex_cache import __version__
from tests.web.conftest import NewProject


def cache_url(project_id: UUID | str) -> str:
    return f"/projects/{project_id}/cache"


def assert_error(response: httpx.Response, status: int, error: str | None = None) -> None:
    """A problem document (RFC 9457) with a name and a message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert isinstance(body["error"], str)
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if error is not None:
        assert body["error"] == error, body


async def test_put_get_delete_round_trip(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    pid = await new_project()
    document = {"name": "My Project", "stages": [1, 2, 3], "owner": None}

    put = await client.put(
        cache_url(pid), json={"data": document, "ttl": 60, "tags": ["pricing", "team.a"]}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"stored": True, "version": 1}

    got = await client.get(cache_url(pid))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["project_id"] == str(pid)
    assert body["data"] == document
    assert body["version"] == 1
    assert body["tags"] == ["pricing", "team.a"]
    assert body["access_count"] >= 1
    created = datetime.fromisoformat(body["created_at"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert (expires - created).total_seconds() == pytest.approx(60, abs=1)
    assert body["last_accessed_at"] is None or datetime.fromisoformat(body["last_accessed_at"])

    deleted = await client.delete(cache_url(pid), params={"reason": "project renamed"})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"invalidated": 1}
    assert_error(await client.get(cache_url(pid)), 404, "NotFound")

    again = await client.delete(cache_url(pid))
    assert again.status_code == 200
    assert again.json() == {"invalidated": 0}


async def test_miss_is_404_json(client: httpx.AsyncClient, new_project: NewProject) -> None:
    assert_error(await client.get(cache_url(await new_project())), 404, "NotFound")


async def test_version_increments_when_omitted(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    pid = await new_project()
    assert (await client.put(cache_url(pid), json={"data": 1})).json()["version"] == 1
    assert (await client.put(cache_url(pid), json={"data": 2})).json()["version"] == 2
    assert (await client.get(cache_url(pid))).json()["data"] == 2


async def test_stale_version_is_409_naming_the_stored_version(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    pid = await new_project()
    newer = await client.put(cache_url(pid), json={"data": "v5", "version": 5})
    assert newer.json() == {"stored": True, "version": 5}

    stale = await client.put(cache_url(pid), json={"data": "v3", "version": 3})
    assert_error(stale, 409, "StaleVersion")
    body = stale.json()
    assert body["stored"] is False
    assert body["stored_version"] == 5
    assert "5" in body["detail"]

    kept = (await client.get(cache_url(pid))).json()
    assert (kept["data"], kept["version"]) == ("v5", 5)


async def test_tag_invalidation_spans_projects(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    first, second, untagged = await new_project(), await new_project(), await new_project()
    for pid, tags in ((first, ["pricing"]), (second, ["pricing", "eu"]), (untagged, ["eu"])):
        response = await client.put(cache_url(pid), json={"data": str(pid), "tags": tags})
        assert response.status_code == 200, response.text

    invalidated = await client.post("/tags/pricing/invalidate")
    assert invalidated.status_code == 200, invalidated.text
    assert invalidated.json() == {"invalidated": 2}

    assert (await client.get(cache_url(first))).status_code == 404
    assert (await client.get(cache_url(second))).status_code == 404
    assert (await client.get(cache_url(untagged))).json()["data"] == str(untagged)
    assert (await client.post("/tags/pricing/invalidate")).json() == {"invalidated": 0}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("project_id", ["not-a-uuid", "1234", "*", "x" * 300])
async def test_an_invalid_project_id_is_the_404_of_a_project_not_granted(
    client: httpx.AsyncClient, method: str, project_id: str
) -> None:
    # require_project_access: a value that is no project ID is no project of the session.
    response = await client.request(method, cache_url(project_id), json={"data": 1})
    assert_error(response, 404, "NotFound")
    assert response.json()["detail"] == "no such project for this session"


@pytest.mark.parametrize("tag", ["bad tag", "a:b", "star*", "{hash}", "x" * 101])
async def test_bad_tag_in_body_is_422_json(
    client: httpx.AsyncClient, new_project: NewProject, tag: str
) -> None:
    pid = await new_project()
    response = await client.put(cache_url(pid), json={"data": 1, "tags": [tag]})
    assert_error(response, 422, "InvalidIdentifierError")
    assert (await client.get(cache_url(pid))).status_code == 404  # nothing half-written


@pytest.mark.parametrize("tag", ["bad tag", "a:b", "star*", "{hash}", "x" * 101])
async def test_bad_tag_in_path_is_422_json(client: httpx.AsyncClient, tag: str) -> None:
    assert_error(await client.post(f"/tags/{tag}/invalidate"), 422, "InvalidIdentifierError")


async def test_too_many_tags_is_422_json(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    tags = [f"t{i}" for i in range(33)]
    response = await client.put(cache_url(await new_project()), json={"data": 1, "tags": tags})
    assert_error(response, 422, "InvalidInputError")


@pytest.mark.parametrize(
    ("ttl", "error"),
    [
        (0, "RequestValidationError"),
        (-5, "RequestValidationError"),
        ("60", "RequestValidationError"),
        (True, "RequestValidationError"),
        (1e12, "InvalidTTLError"),  # over ten years: the domain's own limit
        (0.0001, "InvalidTTLError"),  # under one millisecond
    ],
)
async def test_bad_ttl_is_422_json(
    client: httpx.AsyncClient, new_project: NewProject, ttl: object, error: str
) -> None:
    response = await client.put(cache_url(await new_project()), json={"data": 1, "ttl": ttl})
    assert_error(response, 422, error)


@pytest.mark.parametrize("version", [-1, "3", 1.5, True, 2**53])
async def test_bad_version_is_422_json(
    client: httpx.AsyncClient, new_project: NewProject, version: object
) -> None:
    response = await client.put(
        cache_url(await new_project()), json={"data": 1, "version": version}
    )
    assert_error(response, 422, "RequestValidationError")


async def test_oversize_payload_is_413(client: httpx.AsyncClient, new_project: NewProject) -> None:
    pid = await new_project()
    response = await client.put(cache_url(pid), json={"data": "x" * (1_048_576 + 1)})
    assert_error(response, 413, "PayloadTooLargeError")
    assert "CACHE_MAX_PAYLOAD_BYTES" in response.json()["detail"]
    assert (await client.get(cache_url(pid))).status_code == 404


async def test_unencodable_value_is_422(client: httpx.AsyncClient, new_project: NewProject) -> None:
    # JSON allows this integer; the cache's codec (64-bit integers) does not.
    body = b'{"data": 123456789012345678901234567890}'
    response = await client.put(
        cache_url(await new_project()), content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "SerializationError")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"data": 1', "application/json"),
        (b"data=1", "application/x-www-form-urlencoded"),
        (b"hello", "text/plain"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"ttl": 5}', "application/json"),
        (b'{"data": 1, "tll": 5}', "application/json"),
    ],
)
async def test_malformed_body_is_422_json(
    client: httpx.AsyncClient, new_project: NewProject, content: bytes, content_type: str
) -> None:
    response = await client.put(
        cache_url(await new_project()), content=content, headers={"content-type": content_type}
    )
    assert_error(response, 422, "RequestValidationError")
    assert isinstance(response.json()["errors"], list)


async def test_reason_with_control_characters_is_422(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    response = await client.delete(
        cache_url(await new_project()), params={"reason": "forged\nlog line"}
    )
    assert_error(response, 422, "RequestValidationError")


async def test_unknown_route_and_method_are_json(
    client: httpx.AsyncClient, new_project: NewProject
) -> None:
    assert_error(await client.get("/nowhere"), 404, "NotFound")
    not_allowed = await client.patch(cache_url(await new_project()), json={"data": 1})
    assert_error(not_allowed, 405, "MethodNotAllowed")
    assert "PUT" in not_allowed.headers["allow"]


async def test_health_is_200_when_healthy(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    assert body["backend"] == ("memory" if backend == "memory" else "redis")  # any topology


async def test_docs_and_openapi(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]

    schema = (await client.get("/openapi.json")).json()
    assert schema["info"] == {
        "title": "jeex-cache reference service",
        "version": __version__,
        "description": schema["info"]["description"],
    }
    paths = schema["paths"]
    assert set(paths["/projects/{project_id}/cache"]) == {"get", "put", "delete"}
    assert set(paths["/tags/{tag}/invalidate"]) == {"post"}
    assert set(paths["/health"]) == {"get"}


async def test_metrics_show_the_embedded_backends_memory(
    client: httpx.AsyncClient, new_project: NewProject, backend: str
) -> None:
    await client.put(cache_url(await new_project()), json={"data": {"a": 1}})
    text = (await client.get("/metrics")).text
    if backend == "memory":
        assert "# TYPE jeex_cache_memory_evictions_total counter" in text
        assert "jeex_cache_memory_evictions_total 0" in text
        assert "jeex_cache_memory_refusals_total 0" in text
        assert "jeex_cache_memory_entries 1" in text
    else:
        assert "jeex_cache_memory_bytes" not in text
