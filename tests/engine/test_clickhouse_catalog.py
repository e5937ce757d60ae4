"""The query catalog on seeded rows: every query returns the values worked out by hand.

Rows use channel and session ids unique to this run, and queries filter on them, so other tests
writing to the same chDB do not change the expected values. Where a query has no channel filter
the test compares against a reading taken before seeding (counts are additive).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.analytics import catalog
from engine.analytics.catalog import CatalogError, NamedQuery, Param, ParamError
from engine.schemas import CdnLog, Decision
from engine.storage.clickhouse import connect
from engine.storage.migrate import migrate
from engine.storage.rows import insert_cdn_logs, insert_decisions

REQUIRED_QUERIES = {
    "top_risk_sessions",
    "detection_overview_by_hour",
    "system_performance_by_minute",
    "false_positive_rate",
    "channel_stats",
    "summary",
}


@dataclass
class Seed:
    run: str
    h0: datetime  # start of the hour two hours ago
    h1: datetime  # start of the previous hour
    before_overview: dict[datetime, dict]
    before_summary: dict
    before_fp: dict

    def channel(self, name: str) -> str:
        return f"{self.run}-{name}"

    def session(self, name: str) -> str:
        return f"{self.run}-{name}"


def decision(seed_run: str, session: str, channel: str, seq: int, ts: datetime, **kw) -> Decision:
    delay = kw.pop("delay", 0.0)
    return Decision(
        decision_id=f"{seed_run}-{session}-{seq}",
        ts=ts.timestamp(),
        decided_at=ts.timestamp() + delay,
        session_id=f"{seed_run}-{session}",
        channel_id=f"{seed_run}-{channel}",
        score=kw.pop("score"),
        action=kw.pop("action"),
        reasons=tuple(kw.pop("reasons", ())),
        features=kw.pop("features", {}),
        rule_version="test-1",
    )


def cdn(seed_run: str, n: int, channel: str, ts: datetime, status: int) -> CdnLog:
    return CdnLog(
        event_id=f"{seed_run}-cdn-{n}",
        ts=ts.timestamp(),
        session_id=f"{seed_run}-s1",
        channel_id=f"{seed_run}-{channel}",
        client_ip="198.51.100.7",
        asn=64500,
        country="NL",
        user_agent="Mozilla/5.0",
        method="GET",
        path=f"/live/{channel}/720p60/seg_{n}.ts",
        status=status,
        bytes_sent=1000,
        object_size=1000,
        duration_ms=20,
    )


@pytest.fixture(scope="module")
def ch(clickhouse_url: str):
    client = connect(clickhouse_url)
    migrate(client)
    return client


@pytest.fixture(scope="module")
def seed(ch) -> Iterator[Seed]:
    run = f"cat{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    h1 = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    h0 = h1 - timedelta(hours=1)
    seed = Seed(
        run=run,
        h0=h0,
        h1=h1,
        before_overview={r["time"]: r for r in catalog.run(ch, "detection_overview_by_hour")},
        before_summary=catalog.run(ch, "summary", {"hours_back": 24})[0],
        before_fp=catalog.run(ch, "false_positive_rate")[0],
    )
    m = timedelta(minutes=1)
    insert_decisions(
        ch,
        [
            # channel A: s1 count -> block, s2 challenge -> suppress, s3 count
            decision(run, "s1", "A", 0, h0 + 5 * m, score=0.1, action="count", delay=0.25),
            decision(
                run,
                "s1",
                "A",
                1,
                h1 + 5 * m,
                score=0.9,
                action="block",
                reasons=["datacenter_asn", "no_player_events"],
                features={"segments_per_min": 30.0, "asn_risk": 1.0},
                delay=2.0,
            ),
            decision(run, "s2", "A", 0, h0 + 10 * m, score=0.7, action="challenge"),
            decision(run, "s2", "A", 1, h1 + 10 * m, score=0.3, action="suppress", delay=1.0),
            decision(run, "s3", "A", 0, h1 + 20 * m, score=0.0, action="count"),
            # channel B: one blocked session
            decision(run, "s4", "B", 0, h1 + 30 * m, score=0.95, action="block"),
            # channel C: four decisions in one minute, for the per-minute figures
            *(
                decision(
                    run,
                    f"c{i}",
                    "C",
                    0,
                    h1 + 40 * m + timedelta(seconds=i),
                    score=score,
                    action="count",
                    delay=delay,
                )
                for i, (score, delay) in enumerate([(0.2, 0.1), (0.6, 1.5), (0.4, 0.2), (0.8, 0.3)])
            ),
        ],
    )
    # channel R: a decision written again after a restart (same id and event time, later
    # decided_at); the catalog counts it once. Merges stay off while this module runs, so both
    # copies stay stored and only FINAL can hide the second one.
    ch.command("SYSTEM STOP MERGES viewbot.decisions")
    for delay in (0.0, 30.0):
        insert_decisions(
            ch, [decision(run, "r1", "R", 0, h1 + 50 * m, score=0.99, action="block", delay=delay)]
        )

    insert_cdn_logs(
        ch,
        [
            cdn(run, n, "A", h1 + timedelta(minutes=5, seconds=n), status)
            for n, status in enumerate([200, 200, 206, 404, 503, 200, 500, 200])
        ],
    )
    reviews = [
        ("s1", now - timedelta(hours=1), "legitimate"),  # actioned: a false positive
        ("s2", now - timedelta(hours=1), "viewbot"),  # actioned: a true positive
        ("s3", now - timedelta(days=2), "legitimate"),  # replaced by the later verdict
        ("s3", now - timedelta(days=1), "viewbot"),  # never actioned: a missed bot
        ("s9", now - timedelta(hours=3), "legitimate"),  # no decisions at all
        ("s10", now - timedelta(days=10), "viewbot"),  # outside the 7-day window
    ]
    ch.insert(
        "manual_reviews",
        [[f"{run}-{s}", when, result, "analyst", ""] for s, when, result in reviews],
        column_names=["session_id", "review_date", "manual_review_result", "reviewer", "note"],
        database="viewbot",
    )
    minute1, minute2 = h1 + m, h1 + 2 * m
    stats = [
        # (minute, channel, source, raw, counted, suppressed, challenged, blocked, updated)
        (minute1, "A", "p0", 10, 7, 1, 1, 1, now - timedelta(seconds=30)),
        (minute1, "A", "p0", 12, 8, 2, 1, 1, now),  # rewrite of the row above: replaces it
        (minute1, "A", "p1", 5, 5, 0, 0, 0, now),
        (minute2, "A", "p0", 3, 1, 0, 0, 2, now),
        (minute1, "B", "p0", 100, 1, 0, 0, 99, now),
    ]
    ch.insert(
        "channel_stats",
        [[mi, f"{run}-{c}", src, *counts, upd] for mi, c, src, *counts, upd in stats],
        column_names=[
            "minute",
            "channel_id",
            "source",
            "raw_viewers",
            "counted_viewers",
            "suppressed",
            "challenged",
            "blocked",
            "updated_at",
        ],
        database="viewbot",
    )
    yield seed
    ch.command("SYSTEM START MERGES viewbot.decisions")


def test_catalog_lists_every_query_with_typed_params():
    specs = {spec["name"]: spec for spec in catalog.query_specs()}
    assert REQUIRED_QUERIES <= set(specs)
    for spec in specs.values():
        assert spec["description"]
        for param in spec["params"]:
            assert param["type"] in ("UInt32", "Float64", "String")
            assert param["description"]
    summary = {p["name"]: p for p in specs["summary"]["params"]}
    assert summary["hours_back"] == {
        "name": "hours_back",
        "type": "UInt32",
        "description": "look back this many hours",
        "required": False,
        "default": 1,
        "minimum": 1,
        "maximum": 24 * 366,
    }
    session = specs["session_decisions"]["params"][0]
    assert (session["name"], session["required"]) == ("session_id", True)


def test_top_risk_sessions(ch, seed):
    rows = catalog.run(
        ch, "top_risk_sessions", {"minutes_back": 240, "channel_id": seed.channel("A")}
    )
    got = [
        (r["session_id"], r["score"], r["action"], r["peak_score"], r["decisions"]) for r in rows
    ]
    assert got == [
        (seed.session("s1"), 0.9, "block", 0.9, 2),
        (seed.session("s2"), 0.3, "suppress", 0.7, 2),
        (seed.session("s3"), 0.0, "count", 0.0, 1),
    ]
    top = rows[0]
    assert top["channel_id"] == seed.channel("A")
    assert top["reasons"] == ["datacenter_asn", "no_player_events"]
    assert top["ts"] == seed.h1 + timedelta(minutes=5)

    filtered = catalog.run(
        ch,
        "top_risk_sessions",
        {"minutes_back": 240, "channel_id": seed.channel("A"), "min_score": 0.25, "limit": 1},
    )
    assert [r["session_id"] for r in filtered] == [seed.session("s1")]


def test_top_risk_sessions_counts_a_replayed_decision_once(ch, seed):
    stored = ch.query(
        "SELECT count() FROM viewbot.decisions WHERE decision_id = {id:String}",
        parameters={"id": f"{seed.run}-r1-0"},
    ).result_rows
    assert stored == [(2,)]
    rows = catalog.run(
        ch, "top_risk_sessions", {"minutes_back": 240, "channel_id": seed.channel("R")}
    )
    assert [(r["session_id"], r["decisions"]) for r in rows] == [(seed.session("r1"), 1)]


def test_top_risk_sessions_across_channels(ch, seed):
    rows = catalog.run(ch, "top_risk_sessions", {"minutes_back": 240, "limit": 10_000})
    order = [r["session_id"] for r in rows]
    mine = [s for s in order if s.startswith(seed.run)]
    assert mine[:3] == [seed.session("r1"), seed.session("s4"), seed.session("s1")]


def test_detection_overview_by_hour(ch, seed):
    rows = catalog.run(ch, "detection_overview_by_hour", {"channel_id": seed.channel("A")})
    assert rows == [
        {
            "time": seed.h0,
            "counted": 1,
            "suppressed": 0,
            "challenged": 1,
            "blocked": 0,
            "total": 2,
        },
        {
            "time": seed.h1,
            "counted": 1,
            "suppressed": 1,
            "challenged": 0,
            "blocked": 1,
            "total": 3,
        },
    ]


def test_detection_overview_all_channels_adds_the_seeded_rows(ch, seed):
    after = {r["time"]: r for r in catalog.run(ch, "detection_overview_by_hour")}
    # seeded per hour: H0 -> A: count, challenge; H1 -> A: block, suppress, count; B: block;
    # C: 4 x count; R: one block (written twice, counted once)
    added = {
        seed.h0: {"counted": 1, "suppressed": 0, "challenged": 1, "blocked": 0, "total": 2},
        seed.h1: {"counted": 5, "suppressed": 1, "challenged": 0, "blocked": 3, "total": 9},
    }
    for hour, delta in added.items():
        before = seed.before_overview.get(hour, {})
        for key, value in delta.items():
            assert after[hour][key] - before.get(key, 0) == value, (hour, key)


def test_system_performance_by_minute(ch, seed):
    rows = catalog.run(
        ch, "system_performance_by_minute", {"minutes_back": 240, "channel_id": seed.channel("C")}
    )
    assert rows == [
        {
            "time": seed.h1 + timedelta(minutes=40),
            "decisions": 4,
            "events_per_second": pytest.approx(4 / 60),
            # quantileExact(0.95) of [0.2, 0.4, 0.6, 0.8] is the element at floor(0.95 * 4) = 3
            "p95_risk_score": 0.8,
            # delays 0.1, 1.5, 0.2, 0.3 s -> sorted element 3
            "p95_decision_delay_s": 1.5,
        }
    ]
    a = catalog.run(
        ch, "system_performance_by_minute", {"minutes_back": 240, "channel_id": seed.channel("A")}
    )
    assert [(r["time"], r["decisions"], r["p95_risk_score"]) for r in a] == [
        (seed.h0 + timedelta(minutes=5), 1, 0.1),
        (seed.h0 + timedelta(minutes=10), 1, 0.7),
        (seed.h1 + timedelta(minutes=5), 1, 0.9),
        (seed.h1 + timedelta(minutes=10), 1, 0.3),
        (seed.h1 + timedelta(minutes=20), 1, 0.0),
    ]
    assert [r["p95_decision_delay_s"] for r in a] == [0.25, 0.0, 2.0, 1.0, 0.0]


def test_false_positive_rate(ch, seed):
    [row] = catalog.run(ch, "false_positive_rate", {"days_back": 7})
    # reviewed in the window: s1 legit (actioned), s2 viewbot (actioned),
    # s3 viewbot (latest verdict; only 'count'), s9 legit (no decisions); s10 is too old
    added = {
        "reviewed": 4,
        "reviewed_legitimate": 2,
        "reviewed_viewbot": 2,
        "actioned": 2,
        "false_positives": 1,
        "true_positives": 1,
    }
    before = seed.before_fp
    for key, value in added.items():
        assert row[key] - before[key] == value, key
    actioned = before["actioned"] + 2
    assert row["false_positive_rate"] == pytest.approx((before["false_positives"] + 1) / actioned)
    recall_base = before["reviewed_viewbot"] + 2
    assert row["detection_recall"] == pytest.approx((before["true_positives"] + 1) / recall_base)


def test_channel_stats(ch, seed):
    rows = catalog.run(ch, "channel_stats", {"minutes_back": 240, "channel_id": seed.channel("A")})
    channel = seed.channel("A")
    assert rows == [
        {
            "channel_id": channel,
            "minute": seed.h1 + timedelta(minutes=1),
            "raw_viewers": 17,
            "counted_viewers": 13,
            "uncounted_viewers": 4,
            "suppressed": 2,
            "challenged": 1,
            "blocked": 1,
        },
        {
            "channel_id": channel,
            "minute": seed.h1 + timedelta(minutes=2),
            "raw_viewers": 3,
            "counted_viewers": 1,
            "uncounted_viewers": 2,
            "suppressed": 0,
            "challenged": 0,
            "blocked": 2,
        },
    ]


def test_hourly_channel_stats_from_the_materialized_view(ch, seed):
    rows = catalog.run(ch, "hourly_channel_stats", {"channel_id": seed.channel("A")})
    assert [(r["window_start"], r["unique_viewers"], r["blocked_sessions"]) for r in rows] == [
        (seed.h0, 2, 0),
        (seed.h1, 3, 1),
    ]
    assert rows[0]["avg_risk_score"] == pytest.approx((0.1 + 0.7) / 2)
    assert rows[1]["avg_risk_score"] == pytest.approx((0.9 + 0.3 + 0.0) / 3)
    # The view aggregates at insert time: a decision written twice counts twice there,
    # which is why the decision queries read viewbot.decisions FINAL instead.
    replayed = catalog.run(ch, "hourly_channel_stats", {"channel_id": seed.channel("R")})
    assert [(r["unique_viewers"], r["blocked_sessions"]) for r in replayed] == [(1, 2)]


def test_summary(ch, seed):
    [row] = catalog.run(ch, "summary", {"hours_back": 24, "channel_id": seed.channel("A")})
    assert row == {
        "hours_back": 24,
        "decisions": 5,
        "sessions": 3,
        "counted": 2,
        "suppressed": 1,
        "challenged": 1,
        "blocked": 1,
        "block_rate": pytest.approx(1 / 5),
        "challenge_rate": pytest.approx(1 / 5),
        "events_per_second": pytest.approx(5 / (24 * 3600)),
        "cdn_requests": 8,
        "cdn_errors": 2,  # 503 and 500; 404 is not a server error
        "error_rate": pytest.approx(2 / 8),
    }


def test_summary_without_data_is_zero_not_nan(ch, seed):
    [row] = catalog.run(ch, "summary", {"channel_id": seed.channel("nothing-here")})
    assert row["decisions"] == 0
    assert (row["block_rate"], row["challenge_rate"], row["error_rate"]) == (0, 0, 0)
    assert row["events_per_second"] == 0


def test_summary_all_channels_adds_the_seeded_rows(ch, seed):
    [after] = catalog.run(ch, "summary", {"hours_back": 24})
    # A: 5 decisions, B: 1, C: 4, R: 1 (deduplicated); blocks: A 1, B 1, R 1
    added = {"decisions": 11, "blocked": 3, "challenged": 1, "cdn_requests": 8, "cdn_errors": 2}
    for key, value in added.items():
        assert after[key] - seed.before_summary[key] == value, key


def test_session_decisions(ch, seed):
    rows = catalog.run(ch, "session_decisions", {"session_id": seed.session("s1")})
    assert [(r["decision_id"], r["action"], r["score"]) for r in rows] == [
        (f"{seed.run}-s1-1", "block", 0.9),
        (f"{seed.run}-s1-0", "count", 0.1),
    ]
    newest = rows[0]
    assert newest["features"] == {"segments_per_min": 30.0, "asn_risk": 1.0}
    assert newest["rule_version"] == "test-1"
    assert newest["decided_at"] - newest["ts"] == timedelta(seconds=2)
    limited = catalog.run(ch, "session_decisions", {"session_id": seed.session("s1"), "limit": 1})
    assert [r["decision_id"] for r in limited] == [f"{seed.run}-s1-1"]


def test_table_sizes(ch, seed):
    rows = {r["name"]: r for r in catalog.run(ch, "table_sizes")}
    assert {"decisions", "raw_cdn_log", "manual_reviews", "channel_stats"} <= set(rows)
    [(stored,)] = ch.query("SELECT count() FROM viewbot.decisions").result_rows
    assert rows["decisions"]["total_rows"] == stored
    assert rows["decisions_masked"]["total_rows"] is None


def test_parts_growth(ch, seed):
    [row] = catalog.run(ch, "parts_growth", {"days_back": 1})
    [(expected,)] = ch.query(
        "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'viewbot' AND active"
    ).result_rows
    assert row["bytes"] == expected > 0


def test_schema_migrations(ch, seed):
    recorded = {r["name"]: r["checksum"] for r in catalog.run(ch, "schema_migrations")}
    schema = Path(__file__).resolve().parents[2] / "infra" / "clickhouse"
    for path in schema.glob("*.sql"):
        assert recorded[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_string_parameters_are_bound_not_spliced(ch, seed):
    hostile = f"{seed.channel('A')}' OR '1'='1"
    assert catalog.run(ch, "summary", {"channel_id": hostile})[0]["decisions"] == 0
    assert catalog.run(ch, "top_risk_sessions", {"channel_id": hostile}) == []


def test_queries_run_read_only(ch, monkeypatch):
    probe = NamedQuery("probe", "reads the readonly setting", "SELECT getSetting('readonly') AS ro")
    monkeypatch.setitem(catalog.QUERIES, "probe", probe)
    assert catalog.run(ch, "probe") == [{"ro": 1}]


async def test_run_async(ch, seed):
    rows = await catalog.run_async(
        ch, "summary", {"hours_back": 24, "channel_id": seed.channel("B")}
    )
    assert (rows[0]["decisions"], rows[0]["blocked"]) == (1, 1)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("no_such_query", {}, "unknown query 'no_such_query' (known: channel_stats, "),
        ("session_decisions", {}, "query session_decisions: missing parameter session_id"),
        ("summary", {"hours": 1}, "query summary: unknown parameter hours"),
        ("summary", {"hours_back": "24"}, "hours_back (UInt32) must be a number, got str"),
        ("summary", {"hours_back": True}, "hours_back (UInt32) must be a number, got bool"),
        ("summary", {"hours_back": 1.5}, "hours_back (UInt32) must be an integer, got 1.5"),
        ("summary", {"hours_back": 0}, "hours_back (UInt32) must be >= 1, got 0"),
        ("summary", {"hours_back": -3}, "hours_back (UInt32) is out of range: -3"),
        ("summary", {"channel_id": 7}, "channel_id (String) must be a string, got int"),
        ("top_risk_sessions", {"min_score": 1.5}, "min_score (Float64) must be <= 1, got 1.5"),
        ("top_risk_sessions", {"min_score": float("nan")}, "must be finite"),
        ("top_risk_sessions", {"limit": 10_001}, "limit (UInt32) must be <= 10000"),
    ],
)
def test_bad_requests_raise_catalog_errors(ch, name, params, message):
    with pytest.raises(CatalogError) as info:
        catalog.run(ch, name, params)
    assert message in str(info.value)


def test_error_types():
    with pytest.raises(catalog.UnknownQueryError):
        catalog.get("nope")
    with pytest.raises(ParamError):
        catalog.get("summary").bind({"hours_back": "x"})
    assert issubclass(catalog.UnknownQueryError, CatalogError)
    assert issubclass(ParamError, CatalogError)


def test_parse_text_parameters():
    summary = catalog.get("summary")
    assert summary.parse({"hours_back": "24", "channel_id": "c1"}) == {
        "hours_back": 24,
        "channel_id": "c1",
    }
    top = catalog.get("top_risk_sessions")
    assert top.parse({"min_score": "0.5"}) == {"min_score": 0.5}
    with pytest.raises(ParamError, match=r"hours_back \(UInt32\) cannot be 'abc'"):
        summary.parse({"hours_back": "abc"})
    with pytest.raises(ParamError, match="unknown parameter bogus"):
        summary.parse({"bogus": "1"})


def test_query_definitions_are_checked():
    with pytest.raises(ValueError, match=r"placeholder \{a:UInt32\} undeclared"):
        NamedQuery("q", "d", "SELECT {a:UInt32}")
    with pytest.raises(ValueError, match=r"placeholder \{a:UInt32\} undeclared"):
        NamedQuery("q", "d", "SELECT {a:UInt32}", (Param("a", "String", "x"),))
    with pytest.raises(ValueError, match="declared but unused: a"):
        NamedQuery("q", "d", "SELECT 1", (Param("a", "String", "x"),))
    with pytest.raises(ValueError, match="must be SELECT or WITH"):
        NamedQuery("q", "d", "DROP TABLE viewbot.decisions")
    with pytest.raises(ValueError, match="unsupported type"):
        Param("a", "Array(String)", "x")
