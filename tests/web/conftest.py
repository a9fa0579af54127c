"""Fixtures of the web tests: the reference app over the ``manager`` of the backend matrix."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from jeex_cache import CacheManager
from jeex_cache.web import create_app
from tests.web._serve import serve


@pytest.fixture
def app(manager: CacheManager) -> FastAPI:
    """The reference service over the backend under test."""
    return create_app(manager=manager)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of ``app``, inside the app's lifespan."""
    async with serve(app) as http:
        yield http
