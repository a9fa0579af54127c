"""``JeexCollector``: the manager's metrics in a registry of the app's own."""

from __future__ import annotations

from uuid import uuid4

from prometheus_client import CollectorRegistry, Counter, generate_latest

from jeex_cache import CacheManager
from jeex_cache.metrics import JeexCollector


async def test_the_collector_joins_the_apps_registry(manager: CacheManager, backend: str) -> None:
    registry = CollectorRegistry()
    orders = Counter("shop_orders", "Orders placed.", registry=registry)
    collector = JeexCollector(manager)
    registry.register(collector)
    project = uuid4()
    await manager.cache_project_data(project, {"name": "p"})
    await manager.get_project_data(project)
    await manager.get_project_data(uuid4())
    session = await manager.create_user_session(uuid4(), {}, [project])
    assert session is not None
    assert session.session_id is not None
    await manager.require_project_access(session.session_id, project)
    orders.inc()

    text = generate_latest(registry).decode()
    assert "shop_orders_total 1.0" in text
    assert (
        'jeex_cache_operations_total{family="cache_write",operation="cache_project_data"} 1.0'
        in text
    )
    assert 'operation="get_project_data",result="hit"} 1.0' in text
    assert 'operation="get_project_data",result="miss"} 1.0' in text
    assert 'operation="require_project_access"' in text  # a private helper by its public name
    assert "_authorize" not in text
    assert session.session_id not in text
    assert "jeex_cache_memory_used_bytes" not in text  # needs a refresh: a round trip

    await collector.refresh()
    refreshed = generate_latest(registry).decode()
    assert "jeex_cache_memory_used_bytes" in refreshed
    assert ("jeex_cache_memory_entries" in refreshed) == (backend == "memory")
