"""``jeex-cache serve`` as deployed: a real uvicorn process, its log, its client addresses.

Each test starts ``python -m jeex_cache.cli serve`` (``tests.web._process.serving``) on a free
port with a clean environment (no ``Settings`` variable but the test's) and
``FORWARDED_ALLOW_IPS=*``: uvicorn's own proxy trust at its widest, to show it no longer
decides anything.
"""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import httpx

from jeex_cache import Settings
from tests.web._process import ISSUER_LINE, backend_variables, serving


def test_a_default_serve_issues_no_session_to_an_anonymous_caller(
    tmp_path: Path, settings: Settings
) -> None:
    with serving(tmp_path, **backend_variables(settings)) as served, httpx.Client() as client:
        body = {"user_id": str(uuid4()), "project_access": [str(uuid4())]}
        anonymous = client.post(f"{served.url}/sessions", json=body)
        assert anonymous.status_code == 401, anonymous.text
        assert "set-cookie" not in anonymous.headers
        forged = client.post(
            f"{served.url}/sessions", json=body, headers={"Authorization": "Bearer " + "A" * 43}
        )
        assert forged.status_code == 401

        [token] = ISSUER_LINE.findall(served.log)  # printed once, at start
        assert "SESSION_ISSUER_TOKEN is unset" in served.log
        issued = client.post(
            f"{served.url}/sessions", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert issued.status_code == 201, issued.text
        session = {"Authorization": f"Bearer {issued.json()['session_id']}"}
        assert client.get(f"{served.url}/sessions/me", headers=session).status_code == 200
        assert served.log.count(token) == 1


def test_serve_with_an_issuer_token_prints_no_token(tmp_path: Path) -> None:
    token = "configured-" + "t" * 40
    with serving(tmp_path, SESSION_ISSUER_TOKEN=token) as served, httpx.Client() as client:
        issued = client.post(
            f"{served.url}/sessions",
            json={"user_id": str(uuid4())},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert issued.status_code == 201, issued.text
        assert token not in served.log
        assert ISSUER_LINE.search(served.log) is None


def test_serve_logs_its_backend(tmp_path: Path, settings: Settings) -> None:
    with serving(tmp_path, **backend_variables(settings)) as served:
        log = served.log
    if settings.redis_url is None:
        assert "WARNING:  jeex_cache.web: backend: memory (in process)" in log
        assert "Each process has its own sessions, rate limits" in log
    elif "+sentinel://" in settings.redis_url:  # the sentinels and the service
        assert f"INFO:     jeex_cache.web: backend: redis ({settings.redis_url})" in log
    elif "+cluster://" in settings.redis_url:
        assert "INFO:     jeex_cache.web: backend: redis (redis+cluster://127.0.0.1:" in log
    else:
        port = settings.redis_url.rsplit(":", 1)[1].split("/")[0]
        assert f"INFO:     jeex_cache.web: backend: redis (redis://127.0.0.1:{port})" in log
        assert "backend: memory" not in log


def test_serve_believes_no_forwarding_header_by_itself(tmp_path: Path, settings: Settings) -> None:
    """No trusted proxy: neither a fresh X-Forwarded-For each time nor ``unknown`` escapes
    the limit of the real peer, 127.0.0.1 (uvicorn's proxy headers used to rewrite it)."""
    variables = {**backend_variables(settings), "RATE_LIMIT_DEFAULT_REQUESTS": "4"}
    with serving(tmp_path, **variables) as served, httpx.Client() as client:
        hops = ["203.0.113.1", "unknown", "198.51.100.2", "unknown", "203.0.113.3", "unknown"]
        codes = [
            client.get(f"{served.url}/sessions/me", headers={"X-Forwarded-For": hop}).status_code
            for hop in hops
        ]
    assert codes == [401, 401, 401, 401, 429, 429]


def test_serve_limits_an_unknown_hop_from_its_trusted_proxy(tmp_path: Path) -> None:
    variables = {"RATE_LIMIT_DEFAULT_REQUESTS": "3", "RATE_LIMIT_TRUSTED_PROXIES": "127.0.0.1"}
    with serving(tmp_path, **variables) as served, httpx.Client() as client:
        unknown = {"X-Forwarded-For": "unknown"}
        codes = [
            client.get(f"{served.url}/sessions/me", headers=unknown).status_code for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]  # counted as the proxy, never skipped
        real = {"X-Forwarded-For": "203.0.113.9"}  # through the proxy: its own quota
        assert client.get(f"{served.url}/sessions/me", headers=real).status_code == 401
