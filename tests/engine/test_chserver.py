"""The chDB HTTP server: clickhouse-connect's HTTP client against a real chDB in another process.

The server runs as its own process (``engine.localstack.chserver``) on a fresh data directory,
so the migrate CLI, this test process and a restarted server all share the one chDB directory
through HTTP, the way a worker and the cockpit would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from engine.analytics import catalog
from engine.localstack.chserver import ClickHouseError, decompress_body, parse_statement
from engine.localstack.services import ChdbHttpService, clickhouse_ping_ok
from engine.schemas import Decision
from engine.storage.clickhouse import connect
from engine.storage.rows import insert_decisions

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbHttpService]:
    service = ChdbHttpService(tmp_path_factory.mktemp("chserver"))
    service.start(timeout=60)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def migrated(server: ChdbHttpService) -> str:
    """`vbg-engine migrate` run as a separate process against the server's URL."""
    out = subprocess.run(
        [sys.executable, "-m", "engine", "migrate", "--url", server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def ch(server: ChdbHttpService, migrated: str):
    client = connect(server.url)
    yield client
    client.close()


def make_decisions(run: str, n: int) -> list[Decision]:
    base = datetime.now(UTC) - timedelta(minutes=5)
    return [
        Decision(
            decision_id=f"{run}-d{i}",
            ts=(base + timedelta(seconds=i)).timestamp(),
            decided_at=(base + timedelta(seconds=i, milliseconds=5)).timestamp(),
            session_id=f"{run}-s{i % 3}",
            channel_id=f"{run}-chan",
            score=round(i / n, 3),
            action=("count", "suppress", "challenge", "block")[i % 4],
            reasons=("asn_datacenter", "no_player_events")[: i % 3],
            features={"segments_per_min": float(i)},
            rule_version="test-1",
        )
        for i in range(n)
    ]


def test_ping_and_server_identity(server: ChdbHttpService, ch) -> None:
    assert clickhouse_ping_ok(server.host, server.port)
    assert ch.server_version  # discovered through SELECT version() over HTTP
    assert ch.command("SELECT 1 + 1") == 2


def test_migrate_cli_over_http_is_idempotent(server: ChdbHttpService, migrated: str, ch) -> None:
    assert "applied" in migrated and "002_decisions.sql" in migrated
    again = subprocess.run(
        [sys.executable, "-m", "engine", "migrate", "--url", server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "already applied" in again.stdout and "applied  " not in again.stdout
    tables = {r[0] for r in ch.query("SHOW TABLES FROM viewbot").result_rows}
    assert {"decisions", "raw_cdn_log", "manual_reviews", "channel_stats"} <= tables


def test_insert_and_read_back_decisions(ch) -> None:
    run = f"ins{uuid.uuid4().hex[:8]}"
    decisions = make_decisions(run, 25)
    assert insert_decisions(ch, decisions) == 25
    rows = catalog.run(ch, "session_decisions", {"session_id": f"{run}-s1", "limit": 100})
    want = {d.decision_id: d for d in decisions if d.session_id == f"{run}-s1"}
    assert {r["decision_id"] for r in rows} == set(want)
    for row in rows:
        d = want[row["decision_id"]]
        assert row["action"] == d.action
        assert row["score"] == pytest.approx(d.score)
        assert list(row["reasons"]) == list(d.reasons)
        assert row["ts"].tzinfo is not None
        assert row["ts"].timestamp() == pytest.approx(d.ts, abs=0.001)


def _raw_count(ch, run: str) -> int:
    return ch.command(
        "SELECT count() FROM viewbot.decisions WHERE channel_id = {c:String}",
        parameters={"c": f"{run}-chan"},
    )


def test_insert_deduplication_token_drops_a_repeated_batch(ch) -> None:
    run = f"dedup{uuid.uuid4().hex[:8]}"
    batch = make_decisions(run, 10)
    insert_decisions(ch, batch, dedup_token=f"{run}|0:0-9")
    insert_decisions(ch, batch, dedup_token=f"{run}|0:0-9")  # a retry of the same batch
    assert _raw_count(ch, run) == 10
    insert_decisions(ch, batch, dedup_token=f"{run}|0:10-19")  # same ids, other offsets
    assert _raw_count(ch, run) == 20
    final = ch.command(
        "SELECT count() FROM viewbot.decisions FINAL WHERE channel_id = {c:String}",
        parameters={"c": f"{run}-chan"},
    )
    assert final == 10


@pytest.mark.parametrize("compress", [False, "lz4", "zstd", "gzip"])
def test_inserts_with_every_body_compression(server: ChdbHttpService, migrated: str, compress):
    client = clickhouse_connect.get_client(
        host=server.host, port=server.port, compress=compress, query_retries=0
    )
    try:
        table = f"default.comp_{uuid.uuid4().hex[:8]}"
        client.command(f"CREATE TABLE {table} (a UInt32, s String) ENGINE = MergeTree ORDER BY a")
        rows = [[i, "x" * (i % 50)] for i in range(3000)]
        client.insert(table, rows, column_names=["a", "s"])
        got = client.query(f"SELECT a, s FROM {table} ORDER BY a").result_rows
        client.command(f"DROP TABLE {table}")
    finally:
        client.close()
    assert [list(r) for r in got] == rows


def test_raw_insert_in_text_formats(ch) -> None:
    table = f"default.raw_{uuid.uuid4().hex[:8]}"
    ch.command(f"CREATE TABLE {table} (a UInt32, s String) ENGINE = Memory")
    try:
        ch.raw_insert(
            table, ["a", "s"], b'{"a": 1, "s": "one"}\n{"a": 2, "s": "two"}\n', fmt="JSONEachRow"
        )
        ch.raw_insert(table, ["a", "s"], "3\tthree\n", fmt="TabSeparated")
        got = ch.query(f"SELECT a, s FROM {table} ORDER BY a").result_rows
    finally:
        ch.command(f"DROP TABLE {table}")
    assert got == [(1, "one"), (2, "two"), (3, "three")]


def test_bound_parameters_round_trip(ch) -> None:
    text = "it's a\ttab, a \\ backslash, ünïcødé and a 'quote'"
    when = datetime(2024, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)
    row = ch.query(
        "SELECT {s:String} AS s, {n:Int64} AS n, {f:Float64} AS f, {t:DateTime64(3, 'UTC')} AS t,"
        " {a:Array(String)} AS a",
        parameters={
            "s": text,
            "n": -(2**40),
            "f": 0.25,
            "t": when,
            "a": ["x", "y'z"],
        },
    ).result_rows[0]
    assert row == (text, -(2**40), 0.25, when, ["x", "y'z"])


def test_errors_are_clean_database_errors(ch) -> None:
    with pytest.raises(DatabaseError) as info:
        ch.query("SELECT no_such_column FROM viewbot.decisions")
    assert info.value.code == 47
    assert "UNKNOWN_IDENTIFIER" in str(info.value)
    with pytest.raises(DatabaseError) as info:
        ch.command("SELECT 1 FROM viewbot.no_such_table")
    assert info.value.code == 60
    with pytest.raises(DatabaseError) as info:
        ch.query("SELEC garbage")
    assert info.value.code == 62
    assert ch.command("SELECT 42") == 42  # the server is fine afterwards


def test_settings_apply_to_one_request_only(ch) -> None:
    assert ch.command("SELECT getSetting('max_threads')", settings={"max_threads": 3}) == 3
    assert ch.command("SELECT getSetting('max_threads')") != 3
    with pytest.raises(DatabaseError) as info:
        ch.command("SELECT 1", settings={"no_such_setting_xyz": 1})
    assert info.value.code == 115  # UNKNOWN_SETTING, from the engine


def test_every_catalog_query_runs(ch) -> None:
    samples = {"String": "nobody", "UInt32": 1, "Float64": 0.5}
    for name, query in catalog.QUERIES.items():
        params = {p.name: samples[p.type] for p in query.params if p.required}
        rows = catalog.run(ch, name, params)
        assert isinstance(rows, list), name
    counts = catalog.run(ch, "decision_counts")
    assert counts and set(counts[0]) >= {"rows_final", "distinct_ids"}


def test_readonly_queries_cannot_write(ch) -> None:
    with pytest.raises(DatabaseError) as info:
        ch.command("CREATE TABLE default.ro (a UInt8) ENGINE = Memory", settings={"readonly": 1})
    assert info.value.code == 164  # READONLY


def test_data_survives_a_restart_on_the_same_port(server: ChdbHttpService, migrated: str) -> None:
    run = f"restart{uuid.uuid4().hex[:8]}"
    client = connect(server.url)
    insert_decisions(client, make_decisions(run, 7))
    server.stop()
    assert not clickhouse_ping_ok(server.host, server.port)
    with pytest.raises(Exception):  # noqa: B017 - any transport failure: the server is gone
        _raw_count(client, run)
    server.start(timeout=60)
    assert _raw_count(client, run) == 7  # the same client reconnects
    client.close()


def test_request_parsing_edges() -> None:
    stmt = parse_statement(
        {"database": "viewbot", "param_x": "1", "insert_deduplication_token": "t", "query_id": "q"},
        b"INSERT INTO t (`a`, `b`) FORMAT Native\n\x00FORMAT\x01",
    )
    assert stmt.insert_head == b"INSERT INTO t (`a`, `b`)"
    assert stmt.insert_format == "Native"
    assert stmt.data == b"\x00FORMAT\x01"
    assert stmt.settings == {"insert_deduplication_token": "t"}
    assert stmt.params == {"x": "1"} and stmt.database == "viewbot"
    stmt = parse_statement({"query": "INSERT INTO t SETTINGS async_insert=0 FORMAT CSV"}, b"1,2\n")
    assert (stmt.insert_head, stmt.insert_settings, stmt.data) == (
        b"INSERT INTO t",
        b"async_insert=0",
        b"1,2\n",
    )
    stmt = parse_statement({}, b"INSERT INTO t VALUES (1)")
    assert stmt.insert_head is None and stmt.sql == b"INSERT INTO t VALUES (1)"
    with pytest.raises(ClickHouseError) as info:
        parse_statement({"compress": "1"}, b"SELECT 1")
    assert info.value.code == 48
    with pytest.raises(ClickHouseError) as info:
        parse_statement({}, b"  ")
    assert info.value.code == 62
    with pytest.raises(ClickHouseError) as info:
        decompress_body(b"not lz4", "lz4")
    assert info.value.code == 271


def test_unsupported_requests_are_refused_cleanly(server: ChdbHttpService) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{server.url}/?compress=1", data=b"SELECT 1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(request, timeout=30)
    assert info.value.code == 500
    assert info.value.headers["X-ClickHouse-Exception-Code"] == "48"
    assert info.value.read().startswith(b"Code: 48. DB::Exception:")
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(f"{server.url}/no/such/handler", timeout=30)
    assert info.value.code == 404


def test_cli_rejects_a_missing_path_argument() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engine.localstack.chserver"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--path" in out.stderr


def test_cli_reports_a_busy_port_in_one_line(server: ChdbHttpService, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.localstack.chserver",
            "--path",
            str(tmp_path / "other"),
            "--port",
            str(server.port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.strip().startswith("chserver: cannot listen on")
    assert "Traceback" not in out.stderr


def test_localstack_serves_clickhouse_over_http(tmp_path: Path) -> None:
    from engine.localstack import LocalStack

    with LocalStack(tmp_path, components=["clickhouse-http"], timeout=60) as stack:
        url = stack.env()["CLICKHOUSE_URL"]
        assert url.startswith("http://127.0.0.1:")
        assert stack.pids() and stack.clickhouse is not None
        client = connect(url)
        assert client.command("SELECT 7") == 7
        client.close()
        pid = stack.pids()[0]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped (and reaped) with the stack
