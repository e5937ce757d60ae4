"""GET /api/v1/analytics/*: the query catalog over real ClickHouse (chDB or a server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from api_harness import READ, RedisServices

from engine.storage.clickhouse import connect
from engine.storage.migrate import migrate


@pytest.fixture(scope="module")
def clickhouse(clickhouse_url):
    client = connect(clickhouse_url)
    migrate(client)
    return client


@pytest.fixture
async def analytics_api(redis_url, clickhouse, make_client):
    services = RedisServices(redis_url, clickhouse=clickhouse)
    yield await make_client(services)
    await services.close()


def insert_decisions(client, channel: str, actions: list[str]) -> None:
    now = datetime.now(UTC)
    rows = [
        [
            uuid.uuid4().hex,
            now,
            now,
            f"s-{i}",
            channel,
            0.2 * (i % 5),
            action,
            ["reason_code"],
            {"f": 1.0},
            "test",
        ]
        for i, action in enumerate(actions)
    ]
    columns = [
        "decision_id",
        "ts",
        "decided_at",
        "session_id",
        "channel_id",
        "score",
        "action",
        "reasons",
        "features",
        "rule_version",
    ]
    client.insert("decisions", rows, column_names=columns, database="viewbot")


async def test_summary_reads_as_the_daily_health_check_expects(analytics_api, clickhouse):
    channel = f"c-{uuid.uuid4().hex[:8]}"
    insert_decisions(clickhouse, channel, ["count", "count", "block", "challenge"])
    _, body, _ = await analytics_api.get(
        "/api/v1/analytics/summary",
        params={"hours_back": "1", "channel_id": channel},
        headers=READ,
        expect=200,
    )
    assert body["decisions"] == 4
    assert body["decisions_by_action"] == {"count": 2, "suppress": 0, "challenge": 1, "block": 1}
    assert body["block_rate"] == pytest.approx(0.25)
    assert body["challenge_rate"] == pytest.approx(0.25)
    assert body["error_rate"] == 0  # the guide's `jq -r '.error_rate // 0'`
    assert body["hours_back"] == 1


async def test_named_query_with_typed_params(analytics_api, clickhouse):
    channel = f"c-{uuid.uuid4().hex[:8]}"
    insert_decisions(clickhouse, channel, ["block", "suppress"])
    _, body, _ = await analytics_api.get(
        "/api/v1/analytics/top_risk_sessions",
        params={"channel_id": channel},
        headers=READ,
        expect=200,
    )
    assert body["name"] == "top_risk_sessions"
    assert body["params"]["channel_id"] == channel
    assert {row["session_id"] for row in body["rows"]} == {"s-0", "s-1"}


async def test_index_lists_the_catalog(analytics_api):
    _, body, _ = await analytics_api.get("/api/v1/analytics", headers=READ, expect=200)
    names = {q["name"] for q in body["queries"]}
    assert {"summary", "top_risk_sessions"} <= names


async def test_unknown_query_is_404(analytics_api):
    _, error, _ = await analytics_api.get("/api/v1/analytics/drop_tables", headers=READ, expect=404)
    assert "unknown query 'drop_tables'" in error["error"]


@pytest.mark.parametrize(
    "path, params, fragment",
    [
        ("summary", {"hours_back": "many"}, "hours_back (UInt32) cannot be 'many'"),
        ("summary", {"hours_back": "0"}, "hours_back (UInt32) must be >= 1"),
        ("summary", {"hours_back": "100000"}, "must be <="),
        ("summary", {"bogus": "1"}, "unknown parameter bogus"),
        ("top_risk_sessions", {"channel_id": "x" * 2000}, "longer than"),
    ],
)
async def test_bad_params_are_422(analytics_api, path, params, fragment):
    _, error, _ = await analytics_api.get(
        f"/api/v1/analytics/{path}", params=params, headers=READ, expect=422
    )
    assert fragment in error["error"]


async def test_repeated_param_is_422(analytics_api):
    _, error, _ = await analytics_api.get(
        "/api/v1/analytics/summary?hours_back=1&hours_back=2", headers=READ, expect=422
    )
    assert "more than once" in error["error"]


async def test_clickhouse_failure_is_503(redis_url, make_client):
    from engine.storage.clickhouse import StorageError

    class Broken(RedisServices):
        async def analytics(self, name, params):
            raise StorageError("ClickHouse at http://ch:8123 is unreachable: connection refused")

    services = Broken(redis_url)
    try:
        client = await make_client(services)
        _, error, _ = await client.get("/api/v1/analytics/summary", headers=READ, expect=503)
        assert error["error"].startswith("ClickHouse is unavailable: ")
    finally:
        await services.close()
