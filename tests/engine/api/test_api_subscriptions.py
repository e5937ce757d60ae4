"""DecisionHub: fan-out that never blocks the engine; slow clients lose their oldest decisions."""

from __future__ import annotations

import asyncio

import pytest

from engine import metrics
from engine.api.services import DecisionHub, DecisionSubscription
from engine.schemas import Decision, decision_id


def decision(seq: int) -> Decision:
    return Decision(
        decision_id=decision_id("s", seq),
        ts=float(seq),
        decided_at=float(seq),
        session_id="s",
        channel_id="c",
        score=0.5,
        action="suppress",
        reasons=(),
        features={},
        rule_version="t",
    )


async def test_every_subscriber_gets_every_decision():
    hub = DecisionHub(queue_size=10)
    a, b = hub.subscribe(), hub.subscribe()
    for seq in range(3):
        hub.publish(decision(seq))
    for sub in (a, b):
        assert [(await sub.get(1)).ts for _ in range(3)] == [0.0, 1.0, 2.0]


async def test_a_full_queue_drops_the_oldest_and_counts_it():
    hub = DecisionHub(queue_size=3)
    sub = hub.subscribe()
    before = metrics.snapshot()["sse"]["dropped"]
    for seq in range(5):
        hub.publish(decision(seq))
    assert sub.dropped == 2
    assert metrics.snapshot()["sse"]["dropped"] == before + 2
    assert [(await sub.get(1)).ts for _ in range(3)] == [2.0, 3.0, 4.0]


async def test_get_times_out_with_none_and_close_ends_iteration():
    hub = DecisionHub()
    sub = hub.subscribe()
    assert await sub.get(timeout=0.01) is None and not sub.closed
    received = []

    async def consume():
        async for d in sub:
            received.append(d.ts)

    task = asyncio.create_task(consume())
    hub.publish(decision(7))
    await asyncio.sleep(0.01)
    sub.close()
    await asyncio.wait_for(task, 5)
    assert received == [7.0]
    assert len(hub) == 0 and metrics.snapshot()["sse"]["clients"] == 0
    hub.publish(decision(8))  # closed subscriptions are no longer fed
    assert await sub.get(0.01) is None


async def test_hub_close_ends_everything_even_with_full_queues():
    hub = DecisionHub(queue_size=1)
    subs = [hub.subscribe() for _ in range(3)]
    hub.publish(decision(1))
    hub.close()
    assert len(hub) == 0
    assert all(s.closed for s in subs)


def test_queue_size_must_be_positive():
    with pytest.raises(ValueError):
        DecisionSubscription(maxsize=0)
