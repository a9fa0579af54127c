"""``async with uvicorn_serving(app) as url``: an app served by uvicorn in this process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from jeex_cache.testing import free_port

__all__ = ["uvicorn_serving"]

WAIT = 10.0


@asynccontextmanager
async def uvicorn_serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port until the block ends; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(int(WAIT / 0.01)):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, WAIT)
