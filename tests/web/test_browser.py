"""The pages in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

The service runs in this process under uvicorn on a free port, over a real redis-server; the
test reports progress and settles tasks through the same manager. Playwright drives the
system browser (``CHROMIUM``): it never downloads one. ``scripts/test`` installs ``chromium``;
a browser that cannot start fails the tests, it never skips them.
Screenshots go to the test's temporary folder (the path is printed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from jeex_cache import CacheManager, Settings, TaskStatus
from jeex_cache.testing import free_port
from jeex_cache.web import create_app

CHROMIUM = os.environ.get("JEEX_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ISSUER = "operator-token-" + "x" * 24
QUEUE = "reports"
WAIT_MS = 15_000
WAIT = 15.0


class Service:
    """uvicorn serving the app on one port; ``stop`` and ``start`` again on the same port."""

    def __init__(self, manager: CacheManager) -> None:
        self.app = create_app(manager=manager)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._serving: asyncio.Task[None] | None = None
        self._server: uvicorn.Server | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="none",
            lifespan="off",  # the fixture owns the manager: a restart keeps it
            timeout_graceful_shutdown=1,
        )
        self._server = server = uvicorn.Server(config)
        self._serving = asyncio.create_task(server.serve())
        for _ in range(int(WAIT / 0.01)):
            if server.started or self._serving.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"

    async def stop(self) -> None:
        assert self._server is not None
        assert self._serving is not None
        self._server.should_exit = True
        await asyncio.wait_for(self._serving, WAIT)


@pytest.fixture
async def manager(redis_url: str) -> AsyncIterator[CacheManager]:
    settings = Settings(
        redis_url=redis_url,
        metrics_queues=QUEUE,
        session_issuer_token=ISSUER,
        cache_progress_keepalive=0.5,
    )
    async with CacheManager(settings) as manager:
        yield manager


@pytest.fixture
async def service(manager: CacheManager) -> AsyncIterator[Service]:
    service = Service(manager)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def shoot(page: Page, path: Path) -> None:
    image = await page.screenshot(path=str(path), full_page=True)
    assert image.startswith(b"\x89PNG")
    print(f"screenshot: {path}")


async def test_the_progress_page_follows_an_operation_to_completion_across_a_reconnect(
    browser: Browser, service: Service, manager: CacheManager, tmp_path: Path
) -> None:
    operation, project = uuid4(), uuid4()
    await manager.start_progress_tracking(operation, 4, "queued", project_id=project)
    cid = manager.progress_id(operation, project)  # a project's operation: its scoped ID
    session = await manager.create_user_session(uuid4(), {}, [project])
    assert session is not None
    assert session.session_id is not None
    context = await browser.new_context()
    # What the application's login does: the HttpOnly session cookie, never a URL token.
    await context.add_cookies(
        [
            {
                "name": manager.settings.cache_session_cookie_name,
                "value": session.session_id,
                "url": service.url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    page = await context.new_page()
    await page.goto(f"{service.url}/progress/{cid}/view")
    await expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
    await manager.increment_progress(cid, message="loading rows")
    await expect(page.locator("#percent")).to_have_text("25%", timeout=WAIT_MS)
    await expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "25")

    await service.stop()  # the stream breaks; EventSource reconnects with Last-Event-ID
    await manager.increment_progress(cid, message="checking totals")
    await manager.increment_progress(cid, message="writing the report")
    await service.start()
    await expect(page.locator("#percent")).to_have_text("75%", timeout=WAIT_MS)
    await manager.complete_progress(cid, "report ready")

    await expect(page.locator("#status")).to_have_text("completed", timeout=WAIT_MS)
    await expect(page.locator("#percent")).to_have_text("100%")
    await expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100")
    await expect(page.locator("#message")).to_have_text("report ready")
    log = page.locator("#log li")
    await expect(log).to_have_count(5)
    kinds = [await item.get_attribute("data-kind") for item in await log.all()]
    assert kinds == ["started", "progress", "progress", "progress", "completed"]
    assert await page.locator("body").get_attribute("data-received") == "5"  # none repeated
    assert "checking totals" in await page.locator("#log").inner_text()
    await shoot(page, tmp_path / "progress.png")
    await context.close()


async def test_the_progress_page_shows_a_failure_with_its_error(
    browser: Browser, service: Service, manager: CacheManager, tmp_path: Path
) -> None:
    operation, project = uuid4(), uuid4()
    await manager.start_progress_tracking(operation, 2, "starting", project_id=project)
    cid = manager.progress_id(operation, project)  # a project's operation: its scoped ID
    session = await manager.create_user_session(uuid4(), {}, [project])
    assert session is not None
    assert session.session_id is not None
    context = await browser.new_context(color_scheme="dark")
    await context.add_cookies(
        [
            {
                "name": manager.settings.cache_session_cookie_name,
                "value": session.session_id,
                "url": service.url,
            }
        ]
    )
    page = await context.new_page()
    await page.goto(f"{service.url}/progress/{cid}/view")
    await expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
    await manager.increment_progress(cid, message="step one")
    await manager.fail_progress(cid, RuntimeError("the source went away"))
    await expect(page.locator("#status")).to_have_text("failed", timeout=WAIT_MS)
    await expect(page.locator("#error")).to_contain_text("the source went away")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark palette
    await shoot(page, tmp_path / "progress-failed-dark.png")

    other = await browser.new_context()  # no session: the page is not served
    response = await (await other.new_page()).goto(f"{service.url}/progress/{cid}/view")
    assert response is not None
    assert response.status == 401
    await other.close()
    await context.close()


async def test_the_dashboard_logs_in_shows_the_queues_and_requeues_a_dead_task(
    browser: Browser, service: Service, manager: CacheManager, tmp_path: Path
) -> None:
    doomed = await manager.enqueue_task(QUEUE, "report", max_attempts=1)
    claim = await manager.claim_task(QUEUE, "w-1", 60.0)
    assert claim.delivery is not None
    assert claim.delivery.task_id == doomed
    assert await manager.fail_task(claim.delivery, "ValueError: no such account", 0.0) is (
        TaskStatus.DEAD
    )
    busy = await manager.enqueue_task(QUEUE, "report")
    assert (await manager.claim_task(QUEUE, "w-1", 60.0)).delivery is not None
    await manager.start_progress_tracking(busy, 4, "working")
    await manager.update_progress(busy, 2, "half way")

    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{service.url}/ui")
    assert page.url.endswith("/ui/login")  # not logged in yet
    await page.fill("#token", ISSUER)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{service.url}/ui")

    await expect(page.locator("#health")).to_have_text("healthy", timeout=WAIT_MS)
    await expect(page.locator("#circuit")).to_have_text("closed")
    dead_row = page.locator(f'#dead tr[data-task="{doomed}"]')
    await expect(dead_row).to_contain_text("no such account")
    running = page.locator(f'#running tr[data-task="{busy}"]')
    await expect(running).to_contain_text("50% half way")
    await expect(running.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "50")
    await expect(page.locator("#operations")).to_contain_text("enqueue_task")
    await shoot(page, tmp_path / "dashboard.png")

    await dead_row.locator("button").click()
    await expect(page.locator("#notice")).to_have_text(f"requeued 1 task(s) of {QUEUE}")
    await expect(dead_row).to_have_count(0, timeout=WAIT_MS)
    task = await manager.get_task_status(doomed)
    assert task is not None
    assert task.status is TaskStatus.QUEUED
    await shoot(page, tmp_path / "dashboard-requeued.png")
    await context.close()
