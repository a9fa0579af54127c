"""The floor and a peer: a bare multiplexed GET on our transport, and valkey-glide.

``bare multiplexed GET``: ``orjson.loads`` of a GET sent straight through
``jeex_cache.core.transport`` (no executor, no failure policy, no script): the least a read
can cost on our connections. valkey-glide (Rust core, multiplexed) rows are added when it is
installed (``uv pip install -r benchmarks/requirements.txt``), skipped with a note otherwise.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import orjson

from benchmarks._measure import Candidate
from jeex_cache import Settings
from jeex_cache.core.connect import create_transport
from jeex_cache.core.transport import TransportError, encode

__all__ = ["open_floor_candidates"]

GET = "get_project_data"
SET = "cache_project_data"
_KEY = "bench:{raw}:floor"


async def open_floor_candidates(
    stack: AsyncExitStack, url: str, settings: Settings, document: Any
) -> tuple[list[Candidate], list[str]]:
    """The floor rows and, if installed, valkey-glide's; and notes on what was skipped."""
    router = create_transport(settings)
    await router.open()
    stack.push_async_callback(router.close)
    node = router.route(_KEY)
    payload = orjson.dumps(document)
    ttl_ms = settings.project_data_ttl.milliseconds
    await node.execute(encode(("SET", _KEY, payload, "PX", ttl_ms)))
    get_data = encode(("GET", _KEY))
    set_data = encode(("SET", _KEY, payload, "PX", ttl_ms))

    async def get() -> bool:
        try:
            found: bool = orjson.loads(await node.execute(get_data)) is not None
        except TransportError:
            return False
        return found

    async def put() -> bool:
        try:
            return bool(await node.execute(set_data) == b"OK")
        except TransportError:
            return False

    label = "bare multiplexed"
    candidates = [
        Candidate(GET, f"{label} GET + orjson.loads (floor)", "reference", get),
        Candidate(SET, f"{label} SET PX (floor)", "reference", put),
    ]
    notes: list[str] = []
    try:
        candidates += await _glide(stack, url, document, ttl_ms)
    except ImportError:
        notes.append("valkey-glide rows skipped: uv pip install -r benchmarks/requirements.txt")
    return candidates, notes


async def _glide(stack: AsyncExitStack, url: str, document: Any, ttl_ms: int) -> list[Candidate]:
    from glide import (  # type: ignore[import-not-found,unused-ignore]
        ExpirySet,
        ExpiryType,
        GlideClient,
        GlideClientConfiguration,
        NodeAddress,
    )

    parts = urlsplit(url)
    config = GlideClientConfiguration([NodeAddress(parts.hostname or "127.0.0.1", parts.port)])
    client = await GlideClient.create(config)
    stack.push_async_callback(client.close)
    payload = orjson.dumps(document)
    expiry = ExpirySet(ExpiryType.MILLSEC, ttl_ms)
    await client.set(_KEY, payload, expiry=expiry)

    async def get() -> bool:
        try:
            value: Any = await client.get(_KEY)
            return orjson.loads(value) is not None
        except Exception:
            return False

    async def put() -> bool:
        try:
            reply: Any = await client.set(_KEY, payload, expiry=expiry)
            return bool(reply == "OK")
        except Exception:
            return False

    return [
        Candidate(GET, "valkey-glide GET + orjson.loads", "reference", get),
        Candidate(SET, "valkey-glide SET PX", "reference", put),
    ]
