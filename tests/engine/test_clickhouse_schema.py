"""Schema behaviour the design relies on: idempotent decision rows, review ground truth, TTLs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from engine.schemas import CdnLog, Decision
from engine.storage.clickhouse import connect
from engine.storage.migrate import migrate
from engine.storage.rows import CDN_LOG_COLUMNS, insert_cdn_logs, insert_decisions

REVIEW_COLUMNS = ["session_id", "review_date", "manual_review_result", "reviewer", "note"]


@pytest.fixture(scope="module")
def ch(clickhouse_url: str):
    client = connect(clickhouse_url)
    migrate(client)
    return client


@pytest.fixture
def run_id() -> str:
    return f"sch{uuid.uuid4().hex[:8]}"


def make_decision(run_id: str, decided_offset: float = 0.0, **kw) -> Decision:
    ts = float(int(datetime.now(UTC).timestamp()) - 60)
    return Decision(
        decision_id=f"{run_id}-d",
        ts=ts,
        decided_at=ts + decided_offset,
        session_id=f"{run_id}-session",
        channel_id=f"{run_id}-channel",
        score=kw.get("score", 0.8),
        action=kw.get("action", "challenge"),
        reasons=("burst_segments",),
        features={"rate": 2.5},
        rule_version="r1",
    )


def scalar(ch, sql: str, params: dict):
    return ch.query(sql, parameters=params).result_rows[0][0]


def test_replayed_decision_replaces_itself(ch, run_id):
    first = make_decision(run_id, 0.5, score=0.8, action="challenge")
    replay = make_decision(run_id, 3.0, score=0.8, action="challenge")
    insert_decisions(ch, [first])
    insert_decisions(ch, [first])
    insert_decisions(ch, [replay])
    params = {"id": first.decision_id}
    final_sql = "SELECT count(), max(decided_at) FROM viewbot.decisions FINAL WHERE decision_id = {id:String}"
    [(count, decided_at)] = ch.query(final_sql, parameters=params).result_rows
    assert count == 1
    assert decided_at == datetime.fromtimestamp(replay.decided_at, UTC)
    ch.command("OPTIMIZE TABLE viewbot.decisions FINAL")
    raw_sql = "SELECT count() FROM viewbot.decisions WHERE decision_id = {id:String}"
    assert scalar(ch, raw_sql, params) == 1


def test_insert_deduplication_token_drops_a_retried_batch(ch, run_id):
    first = make_decision(run_id)
    other = msgspec.structs.replace(first, decision_id=f"{run_id}-other")
    insert_decisions(ch, [first], dedup_token=f"{run_id}-batch-1")
    # Same token: the server treats this as a retry of batch 1 and drops it, content unseen.
    insert_decisions(ch, [other], dedup_token=f"{run_id}-batch-1")
    raw_sql = "SELECT decision_id FROM viewbot.decisions WHERE startsWith(decision_id, {r:String})"
    assert ch.query(raw_sql, parameters={"r": run_id}).result_rows == [(first.decision_id,)]


def test_cdn_log_round_trip(ch, run_id):
    event = CdnLog(
        event_id=f"{run_id}-e1",
        ts=1_900_000_000.125,
        session_id=f"{run_id}-s",
        channel_id="c1",
        client_ip="2001:db8::1",
        asn=4_200_000_000,
        country="se",
        user_agent="curl/8",
        method="GET",
        path="/live/c1/index.m3u8",
        status=200,
        bytes_sent=512,
        object_size=512,
        duration_ms=3,
        referer="",
        tls_fingerprint="t13d1516h2_8daaf6152771_02713d6af862",
    )
    insert_cdn_logs(ch, [event])
    row = ch.query(
        "SELECT * FROM viewbot.raw_cdn_log WHERE event_id = {id:String}",
        parameters={"id": event.event_id},
    ).named_results()
    [stored] = list(row)
    assert stored["ts"] == datetime(2030, 3, 17, 17, 46, 40, 125000, tzinfo=UTC)
    assert stored["country"] == "SE"
    for column in CDN_LOG_COLUMNS[2:]:
        assert stored[column] == getattr(event, column), column


def test_review_result_is_checked_and_is_legitimate_derived(ch, run_id):
    now = datetime.now(UTC)
    ch.insert(
        "manual_reviews",
        [
            [f"{run_id}-ok", now, "legitimate", "ann", "human, VPN"],
            [f"{run_id}-bot", now, "viewbot", "ann", ""],
        ],
        column_names=REVIEW_COLUMNS,
        database="viewbot",
    )
    rows = ch.query(
        "SELECT session_id, is_legitimate FROM viewbot.manual_reviews "
        "WHERE startsWith(session_id, {run:String}) ORDER BY session_id",
        parameters={"run": run_id},
    ).result_rows
    assert rows == [(f"{run_id}-bot", False), (f"{run_id}-ok", True)]
    with pytest.raises(Exception, match="valid_result"):
        ch.insert(
            "manual_reviews",
            [[f"{run_id}-x", now, "maybe", "ann", ""]],
            column_names=REVIEW_COLUMNS,
            database="viewbot",
        )
    with pytest.raises(Exception, match="is_legitimate"):
        ch.insert(
            "manual_reviews",
            [[f"{run_id}-y", now, "viewbot", True, "ann", ""]],
            column_names=[*REVIEW_COLUMNS[:3], "is_legitimate", *REVIEW_COLUMNS[3:]],
            database="viewbot",
        )


def test_unreviewed_sessions_are_not_legitimate_in_a_left_join(ch, run_id):
    decision = make_decision(run_id)
    insert_decisions(ch, [decision])
    [(result, legit)] = ch.query(
        "SELECT r.manual_review_result, r.is_legitimate FROM viewbot.decisions AS d "
        "LEFT JOIN viewbot.manual_reviews AS r ON d.session_id = r.session_id "
        "WHERE d.decision_id = {id:String}",
        parameters={"id": decision.decision_id},
    ).result_rows
    assert (result, legit) == ("", False)


def test_masked_view_hides_session_ids(ch, run_id):
    decision = make_decision(run_id)
    insert_decisions(ch, [decision])
    masked = ch.query(
        "SELECT session_id, action FROM viewbot.decisions_masked WHERE channel_id = {c:String}",
        parameters={"c": decision.channel_id},
    ).result_rows
    assert masked == [(decision.session_id[:8] + "***", "challenge")]


def test_keys_partitions_and_ttls(ch):
    rows = ch.query(
        "SELECT name, partition_key, sorting_key, engine, engine_full FROM system.tables "
        "WHERE database = 'viewbot' AND engine LIKE '%MergeTree'"
    ).named_results()
    tables = {r["name"]: r for r in rows}
    decisions = tables["decisions"]
    assert decisions["engine"] == "ReplacingMergeTree"
    assert decisions["sorting_key"] == "channel_id, ts, decision_id"
    assert decisions["partition_key"] == "toYYYYMM(ts)"
    assert "TTL ts + toIntervalYear(2)" in decisions["engine_full"]
    raw = tables["raw_cdn_log"]
    assert raw["partition_key"] == "toYYYYMMDD(ts)"
    assert "TTL ts + toIntervalDay(90)" in raw["engine_full"]
    assert tables["manual_reviews"]["sorting_key"] == "session_id"
    assert tables["channel_stats"]["sorting_key"] == "channel_id, minute, source"
    indices = ch.query(
        "SELECT table, name, type, expr, granularity FROM system.data_skipping_indices "
        "WHERE database = 'viewbot' AND name = 'idx_channel_score'"
    ).result_rows
    assert indices == [("decisions", "idx_channel_score", "minmax", "channel_id, score", 4)]
