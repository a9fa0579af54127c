"""Cross-slot work as ordered single-slot steps (``docs/design.md``, "Cross-slot steps").

A step that must run before another (a tag's registry before the tagged entry, a user's
index before the session record) may share one pipeline with it only where the pipeline
runs its calls in order: one server, one connection. On a cluster the router sends one
pipeline per node, concurrently, so the first step is awaited before the next is sent.
"""

from __future__ import annotations

from jeex_cache.core.executor import RedisExecutor

__all__ = ["one_pipeline_keeps_order"]


def one_pipeline_keeps_order(executor: RedisExecutor) -> bool:
    """True when every key is served by one node, so one pipeline runs its calls in order."""
    router = executor.router
    return router is None or len(router.nodes) == 1
