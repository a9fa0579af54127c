"""Fairness as a property, on the in-memory queue (the same rules as the Redis scripts):
over random enqueue patterns of several tenants, a tenant with work waits at most as many
claims as there were tenants with work during its wait."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from jeex_cache import ManualClock
from jeex_cache.core.ttl import TTL
from jeex_cache.tasks.memory import MemoryTaskQueueRepository

TENANTS = ["t0", "t1", "t2", "t3", "t4", "t5"]
# A pattern: steps of (tenant, how many it enqueues, how many claims follow).
steps = st.lists(
    st.tuples(st.sampled_from(TENANTS), st.integers(0, 30), st.integers(0, 10)),
    min_size=1,
    max_size=30,
)


async def _run(pattern: list[tuple[str, int, int]]) -> None:
    repo = MemoryTaskQueueRepository(ManualClock())
    ttl = TTL(60_000)
    waiting: dict[str, int] = {}  # queued tasks of each tenant
    waited: dict[str, int] = {}  # claims since the tenant last got one while it had work
    rivals: dict[str, int] = {}  # most tenants with work seen during that wait
    serial = 0

    async def claim() -> None:
        active = sum(1 for count in waiting.values() if count)
        delivery = (await repo.claim("q", "w", 30_000, ttl)).delivery
        if delivery is None:
            assert not any(waiting.values())
            return
        tenant = delivery.project_id
        assert tenant is not None
        waiting[tenant] -= 1
        for other, count in waiting.items():
            if count and other != tenant:
                waited[other] = waited.get(other, 0) + 1
                rivals[other] = max(rivals.get(other, 0), active)
                # Round robin: at most one turn of every other tenant that had work.
                assert waited[other] < max(rivals[other], 2) + 1, (other, waited, rivals)
            else:
                waited[other], rivals[other] = 0, 0
        assert await repo.complete(delivery, b"null", ttl)

    for tenant, count, claims in pattern:
        for _ in range(count):
            serial += 1
            await repo.enqueue(f"q={serial}", "q", "run", b"null", 1, 0, tenant, serial % 3)
            waiting[tenant] = waiting.get(tenant, 0) + 1
        for _ in range(claims):
            await claim()
    while any(waiting.values()):
        await claim()


@settings(max_examples=200, deadline=None)
@given(steps)
def test_no_tenant_waits_more_claims_than_there_are_tenants_with_work(
    pattern: list[tuple[str, int, int]],
) -> None:
    asyncio.run(_run(pattern))
