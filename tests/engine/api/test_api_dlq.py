"""POST /api/v1/dlq/replay: write token, bounded limit, counts per source topic."""

from __future__ import annotations

import pytest
from api_harness import WRITE


async def test_replay_reports_counts_per_topic(api, services):
    services.dlq = ["cdn-logs", "cdn-logs", "chat-events", "cdn-logs"]
    _, body, _ = await api.post("/api/v1/dlq/replay", json={"limit": 3}, headers=WRITE, expect=200)
    assert body == {"replayed": {"cdn-logs": 2, "chat-events": 1}, "total": 3}
    _, body, _ = await api.post("/api/v1/dlq/replay", headers=WRITE, expect=200)  # default limit
    assert body == {"replayed": {"cdn-logs": 1}, "total": 1}


@pytest.mark.parametrize(
    "body", [{"limit": 0}, {"limit": -5}, {"limit": "10"}, {"limit": 10**9}, [1]]
)
async def test_bad_limits_are_422(api, services, body):
    services.dlq = ["cdn-logs"]
    await api.post("/api/v1/dlq/replay", json=body, headers=WRITE, expect=422)
    assert services.dlq == ["cdn-logs"]
