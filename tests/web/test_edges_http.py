"""Over HTTP, NaN and infinities in a value and a reason that could forge a log line are 422."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import NewProject


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_are_422(
    client: httpx.AsyncClient, new_project: NewProject, literal: str
) -> None:
    pid = await new_project()
    body = f'{{"data": {{"score": {literal}}}}}'  # what json.dumps writes for nan and inf
    headers = {"content-type": "application/json"}
    response = await client.put(f"/projects/{pid}/cache", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert (await client.get(f"/projects/{pid}/cache")).status_code == 404


@pytest.mark.parametrize("reason", ["a\u0085b", "a\u2028b", "a\u2029b", "\u202eabc"])
async def test_a_reason_with_a_separator_is_422(
    client: httpx.AsyncClient, new_project: NewProject, reason: str
) -> None:
    pid = await new_project()
    assert (await client.put(f"/projects/{pid}/cache", json={"data": 1})).status_code == 200
    response = await client.delete(f"/projects/{pid}/cache", params={"reason": reason})
    assert response.status_code == 422, response.text
    tagged = await client.post("/tags/t/invalidate", params={"reason": reason})
    assert tagged.status_code == 422, tagged.text
    assert (await client.get(f"/projects/{pid}/cache")).status_code == 200
