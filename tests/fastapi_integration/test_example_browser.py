"""The example app's progress page in a real headless Chromium, to the job's completion.

The app runs under uvicorn (its lifespan opens the manager and starts the worker) over a real
redis-server; the browser logs in through the app, starts a job and watches its page.
"""

from __future__ import annotations

from typing import Any

import pytest
from examples.fastapi_app.app import ACME, create_app
from playwright.async_api import Browser, expect

from jeex_cache import CacheManager, Settings
from tests.fastapi_integration.conftest import served
from tests.web.test_browser import browser

__all__ = ["browser"]  # the fixture, shared with the reference service's browser tests

WAIT_MS = 15_000


@pytest.mark.parametrize("backend", ["redis"])
async def test_the_job_page_shows_the_job_to_completion(
    browser: Browser, redis_url: str, backend: str
) -> None:
    manager = CacheManager(Settings(redis_url=redis_url, cache_session_cookie_secure=False))
    async with served(create_app(manager)) as url:
        context = await browser.new_context()
        login = await context.request.post(
            f"{url}/login", data={"username": "ada", "password": "lovelace"}
        )
        assert login.ok
        started = await context.request.post(f"{url}/projects/{ACME}/jobs")
        job: dict[str, Any] = await started.json()
        page = await context.new_page()
        await page.goto(url + job["page"])
        await expect(page.locator("#status")).to_have_text("completed: succeeded", timeout=WAIT_MS)
        await expect(page.locator("#bar")).to_have_attribute("value", "100")
        await context.close()
