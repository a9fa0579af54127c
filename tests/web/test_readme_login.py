"""The login example of docs/sessions.md works: a real login issues the session,
``POST /sessions`` stays closed to the browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import uuid4

from tests.web._serve import serve

SESSIONS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "sessions.md"


def login_example() -> str:
    text = SESSIONS_PAGE.read_text()
    blocks: list[str] = re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)
    [block] = [b for b in blocks if '@app.post("/login"' in b]
    return block


async def test_the_readme_login_example() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(login_example(), "docs/sessions.md login example", "exec"), namespace)
    app, ada = namespace["app"], namespace["ADA"]
    async with serve(app) as client:
        wrong = await client.post("/login", json={"email": "ada@example.com", "password": "x"})
        assert wrong.status_code == 401
        assert "set-cookie" not in wrong.headers

        body = {"email": "ada@example.com", "password": "correct horse"}
        response = await client.post("/login", json=body)
        assert response.status_code == 204, response.text
        cookie = response.headers["set-cookie"]
        assert "httponly" in cookie.lower()
        session_id = cookie.split(";")[0].split("=", 1)[1]
        headers = {"Cookie": f"jeex_session={session_id}"}

        me = await client.get("/sessions/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["user_data"] == {"name": "Ada"}
        [project] = ada["projects"]
        write = await client.put(f"/projects/{project}/cache", json={"data": 1}, headers=headers)
        assert write.status_code == 200, write.text

        mint = await client.post("/sessions", json={"user_id": str(uuid4())}, headers=headers)
        assert mint.status_code == 401  # the reference login stays behind its issuer token
