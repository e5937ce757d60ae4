"""Every ClickHouse statement printed in the operations guide runs unchanged on the schema.

tests/engine/data/runbook/ holds a verbatim copy of each statement (SQL blocks and
`clickhouse-client --query "..."` strings), so the suite does not depend on the guide's
location. When the guide sits beside the repository (../shared/runbooks/000_*.txt) a test checks
that the copies still match it, and that none is missing.

A few statements cannot run on any ClickHouse as printed; each is listed in CANNOT_RUN with the
reason, and the test asserts the exact error, which shows the cause lies outside the schema.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.schemas import CdnLog, Decision
from engine.storage.clickhouse import connect
from engine.storage.migrate import migrate
from engine.storage.rows import insert_cdn_logs, insert_decisions
from engine.storage.sqlscript import split_statements

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data" / "runbook"
FIXTURES = {path.stem: path for path in sorted(DATA.glob("*.sql"))}

CANNOT_RUN = {
    "19_monthly_growth": (
        "UNKNOWN_IDENTIFIER",
        "system.parts has no total_bytes column (it has bytes_on_disk); the catalog query "
        "parts_growth is the working form",
    ),
    "23_perf_modify_setting": (
        "UNKNOWN_SETTING",
        "MergeTree has no setting max_part_size; index_granularity = 8192 is set by "
        "002_decisions.sql",
    ),
    "26_storage_decisions_cold_ttl": (
        "BAD_TTL_EXPRESSION",
        "TO DISK 'cold' needs a storage policy with a disk named cold in the server "
        "configuration; the 2-year DELETE is in 002_decisions.sql",
    ),
    "27_storage_partition_by": (
        "SYNTAX_ERROR",
        "ClickHouse has no ALTER ... MODIFY PARTITION BY; 002_decisions.sql creates the table "
        "PARTITION BY toYYYYMM(ts)",
    ),
    "30_dr_backup": (
        "SYNTAX_ERROR",
        "several tables need TABLE before each name (BACKUP TABLE a, TABLE b); it also needs "
        "$BACKUP_DIR from the shell and a 'backup' disk in backups.allowed_disk",
    ),
    "31_dr_restore_all": (
        "INVALID_CONFIG_PARAMETER",
        "Disk('backup', ...) needs a 'backup' disk in backups.allowed_disk (server config)",
    ),
    "32_dr_point_in_time_restore": ("SYNTAX_ERROR", "RESTORE has no WHERE clause"),
}

# DDL the migrations already applied with IF NOT EXISTS: undo it, run the guide's statement
# unchanged, and require the same result as the migration produced.
RECREATE = {
    "22_perf_mv_hourly_channel_stats": (
        "DROP VIEW IF EXISTS viewbot.mv_hourly_channel_stats",
        "SELECT create_table_query FROM system.tables "
        "WHERE database = 'viewbot' AND name = 'mv_hourly_channel_stats'",
    ),
    "24_perf_add_index": (
        "ALTER TABLE viewbot.decisions DROP INDEX IF EXISTS idx_channel_score",
        "SELECT name, type, expr, granularity FROM system.data_skipping_indices "
        "WHERE database = 'viewbot' AND table = 'decisions' AND name = 'idx_channel_score'",
    ),
    "28_masking_decisions_masked": (
        "DROP VIEW IF EXISTS viewbot.decisions_masked",
        "SELECT create_table_query FROM system.tables "
        "WHERE database = 'viewbot' AND name = 'decisions_masked'",
    ),
}

# Run fine, but have nothing to return in a test database.
MAY_BE_EMPTY = {
    "05_ch_slow_queries": "no query runs for more than 10 s here",
    "06_ch_kill_query": "no query has the id 'query-id'",
    "12_log_rotation_old_partitions": "no inactive part is 30 days old in a fresh database",
}

_FENCE = re.compile(r"^[ \t]*```sql[ \t]*\n(.*?)^[ \t]*```", re.S | re.M)
_QUERY_ARG = re.compile(r'--query "(.*?)"', re.S)


def statement(name: str) -> str:
    [text] = split_statements(FIXTURES[name].read_text())
    return text


def is_select(text: str) -> bool:
    return re.match(r"(SELECT|WITH)\b", text, re.IGNORECASE) is not None


def guide_statements(guide: str) -> list[str]:
    found = [s for block in _FENCE.findall(guide) for s in split_statements(block)]
    return found + [q.strip() for q in _QUERY_ARG.findall(guide)]


def find_guide() -> Path | None:
    found = sorted((REPO.parent / "shared" / "runbooks").glob("000_*.txt"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def ch(clickhouse_url: str):
    client = connect(clickhouse_url)
    migrate(client)
    return client


class Seed:
    """Rows that make every guide query return something, with ids unique to this run."""

    def __init__(self, run: str):
        self.run = run
        self.channel = f"{run}-chan"
        self.heavy_session = f"{run}-heavy"
        self.asn = 4_200_000_000 + int(run[-6:], 16) % 90_000_000
        self.client_ip = "192.0.2.77"
        self.requests = 1001


@pytest.fixture(scope="module")
def seed(ch) -> Seed:
    seed = Seed(f"rb{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC)
    decisions = [
        Decision(
            decision_id=f"{seed.run}-{i}",
            ts=(now - timedelta(minutes=10 + i)).timestamp(),
            decided_at=(now - timedelta(minutes=10 + i)).timestamp(),
            session_id=seed.heavy_session if i == 0 else f"{seed.run}-s{i}",
            channel_id=seed.channel,
            score=score,
            action=action,
            reasons=reasons,
            features={"probe": float(i)},
            rule_version="runbook-test",
        )
        for i, (score, action, reasons) in enumerate(
            [
                (0.9, "block", ("datacenter_asn", "no_player_events")),
                (0.75, "challenge", ("headless_user_agent",)),
                (0.4, "suppress", ("background_tab",)),
                (0.1, "count", ()),
            ]
        )
    ]
    insert_decisions(ch, decisions)
    insert_cdn_logs(
        ch,
        [
            CdnLog(
                event_id=f"{seed.run}-cdn-{n}",
                ts=(now - timedelta(minutes=20, milliseconds=n)).timestamp(),
                session_id=seed.heavy_session,
                channel_id=seed.channel,
                client_ip=seed.client_ip,
                asn=seed.asn,
                country="US",
                user_agent="python-requests/2.31",
                method="GET",
                path=f"/live/{seed.channel}/720p60/seg_{n}.ts",
                status=200,
                bytes_sent=1000,
                object_size=1000,
                duration_ms=5,
            )
            for n in range(seed.requests)
        ],
    )
    ch.insert(
        "manual_reviews",
        [[seed.heavy_session, now, "legitimate", "runbook-test", "seeded"]],
        column_names=["session_id", "review_date", "manual_review_result", "reviewer", "note"],
        database="viewbot",
    )
    return seed


def test_fixtures_are_present():
    assert len(FIXTURES) == 33
    assert set(CANNOT_RUN) | set(RECREATE) | set(MAY_BE_EMPTY) <= set(FIXTURES)


def test_fixtures_match_the_operations_guide():
    guide_path = find_guide()
    if guide_path is None:
        pytest.skip("the operations guide is not beside the repository (../shared/runbooks)")
    guide = guide_path.read_text()
    for name, path in FIXTURES.items():
        assert path.read_text().rstrip("\n") in guide, f"{name} is not verbatim in the guide"
    assert sorted(guide_statements(guide)) == sorted(statement(name) for name in FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_guide_statement_runs_unchanged(ch, seed, name):
    text = statement(name)
    if name in CANNOT_RUN:
        code, reason = CANNOT_RUN[name]
        with pytest.raises(Exception, match=rf"\({code}\)"):
            ch.command(text)
        assert reason
        return
    if name in RECREATE:
        undo, describe = RECREATE[name]
        migrated = ch.query(describe).result_rows
        assert migrated, f"the migration did not create what {name} creates"
        ch.command(undo)
        ch.command(text)
        assert ch.query(describe).result_rows == migrated
        return
    if not is_select(text):
        ch.command(text)
        return
    rows = ch.query(text).result_rows
    if name not in MAY_BE_EMPTY:
        assert rows, f"{name} returned no rows on the seeded database"


def run_guide(ch, name: str) -> list[dict]:
    return list(ch.query(statement(name)).named_results())


def test_dashboard_panels_see_the_seeded_decisions(ch, seed):
    overview = run_guide(ch, "01_dashboard_detection_overview")
    assert sum(r["blocked"] for r in overview) >= 1
    assert sum(r["challenged"] for r in overview) >= 1
    recent = run_guide(ch, "11_debug_recent_decisions")
    assert 1 <= len(recent) <= 10
    month = int(datetime.now(UTC).strftime("%Y%m"))
    trends = {r["month"]: r for r in run_guide(ch, "17_monthly_volume_trends")}
    assert trends[month]["total_decisions"] >= 4


def test_security_audit_finds_the_concentrated_asn(ch, seed):
    rows = {r["asn"]: r for r in run_guide(ch, "20_audit_suspicious_asn")}
    assert rows[seed.asn]["session_count"] == seed.requests
    assert rows[seed.asn]["avg_risk_score"] == pytest.approx(0.9)


def test_security_monitor_finds_the_busy_ip(ch, seed):
    rows = {r["client_ip"]: r for r in run_guide(ch, "29_security_unusual_ips")}
    ip = rows[seed.client_ip]
    assert (ip["request_count"], ip["unique_sessions"]) == (seed.requests, 1)
    assert ip["requests_per_session"] == seed.requests


def test_false_positive_queries_read_manual_reviews(ch, seed):
    [check] = run_guide(ch, "33_runbook_false_positive_check")
    assert 0 < check["fp_rate"] <= 1
    patterns = {r["action"]: r for r in run_guide(ch, "15_weekly_false_positive_patterns")}
    assert patterns["block"]["false_positives"] >= 1


def test_table_status_queries_list_the_schema(ch, seed):
    for name in ("08_ch_table_sizes", "10_debug_table_status"):
        tables = {r["name"] for r in run_guide(ch, name)}
        assert {"decisions", "raw_cdn_log", "manual_reviews", "channel_stats"} <= tables
    running = run_guide(ch, "04_ch_running_queries")
    assert any("system.processes" in r["query"] for r in running)


def test_optimize_final_collapses_a_replayed_decision(ch, seed):
    now = datetime.now(UTC).timestamp()
    replayed = Decision(
        decision_id=f"{seed.run}-replayed",
        ts=now - 30,
        decided_at=now - 30,
        session_id=f"{seed.run}-replayed",
        channel_id=seed.channel,
        score=0.5,
        action="suppress",
        reasons=(),
        features={},
        rule_version="runbook-test",
    )
    insert_decisions(ch, [replayed])
    insert_decisions(ch, [replayed])
    ch.command(statement("07_ch_optimize_decisions"))
    count = ch.query(
        "SELECT count() FROM viewbot.decisions WHERE decision_id = {id:String}",
        parameters={"id": replayed.decision_id},
    ).result_rows
    assert count == [(1,)]


def test_drop_partition_drops_that_day_only(ch, seed):
    old_ts = datetime(2024, 12, 1, 12, 0, tzinfo=UTC).timestamp()
    old = CdnLog(
        event_id=f"{seed.run}-old",
        ts=old_ts,
        session_id=f"{seed.run}-old",
        channel_id=seed.channel,
        client_ip="203.0.113.9",
        asn=64501,
        country="FR",
        user_agent="ua",
        method="GET",
        path="/live/x/index.m3u8",
        status=200,
        bytes_sent=1,
        object_size=1,
        duration_ms=1,
    )
    count_sql = "SELECT count() FROM viewbot.raw_cdn_log WHERE startsWith(event_id, {run:String})"
    ch.command("SYSTEM STOP TTL MERGES viewbot.raw_cdn_log")  # the row is past its 90-day TTL
    try:
        insert_cdn_logs(ch, [old])
        before = ch.query(count_sql, parameters={"run": seed.run}).result_rows[0][0]
        assert before == seed.requests + 1
        ch.command(statement("09_ch_drop_old_partition"))
        after = ch.query(count_sql, parameters={"run": seed.run}).result_rows[0][0]
    finally:
        ch.command("SYSTEM START TTL MERGES viewbot.raw_cdn_log")
    assert after == seed.requests


def test_guide_ttl_statement_keeps_the_90_day_ttl(ch, seed):
    ch.command(statement("25_storage_raw_cdn_log_ttl"))
    [(engine_full,)] = ch.query(
        "SELECT engine_full FROM system.tables WHERE database = 'viewbot' AND name = 'raw_cdn_log'"
    ).result_rows
    assert "TTL ts + toIntervalDay(90)" in engine_full
