"""`vbg-engine migrate`: idempotent schema, recorded checksums, refused tampering, clean CLI."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.localstack.ports import free_port
from engine.storage.clickhouse import connect
from engine.storage.migrate import MigrationError, default_directory, load_migrations, migrate

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILES = sorted(p.name for p in (REPO / "infra" / "clickhouse").glob("*.sql"))
TABLES = {
    "decisions",
    "raw_cdn_log",
    "manual_reviews",
    "channel_stats",
    "mv_hourly_channel_stats",
    "decisions_masked",
    "schema_migrations",
}


@pytest.fixture(scope="module")
def ch(clickhouse_url: str):
    client = connect(clickhouse_url)
    migrate(client)
    return client


def schema_snapshot(client) -> tuple[list, list]:
    tables = client.query(
        "SELECT name, engine, create_table_query, partition_key, sorting_key "
        "FROM system.tables WHERE database = 'viewbot' ORDER BY name"
    ).result_rows
    columns = client.query(
        "SELECT table, name, type, default_kind, default_expression, position "
        "FROM system.columns WHERE database = 'viewbot' ORDER BY table, position"
    ).result_rows
    return tables, columns


def test_packaged_directory_is_infra_clickhouse():
    directory = default_directory()
    assert sorted(p.name for p in directory.glob("*.sql")) == SCHEMA_FILES
    assert len(SCHEMA_FILES) >= 7
    for name in SCHEMA_FILES:
        assert (directory / name).read_bytes() == (REPO / "infra/clickhouse" / name).read_bytes()


def test_migrate_twice_leaves_the_same_tables(ch):
    migrate(ch)
    before = schema_snapshot(ch)
    report = migrate(ch)
    after = schema_snapshot(ch)
    assert report.applied == []
    assert report.skipped == SCHEMA_FILES
    assert after == before
    assert TABLES <= {row[0] for row in after[0]}


def test_applied_files_are_recorded_with_checksums(ch):
    recorded = dict(
        ch.query("SELECT name, checksum FROM viewbot.schema_migrations FINAL").result_rows
    )
    for name in SCHEMA_FILES:
        content = (REPO / "infra/clickhouse" / name).read_bytes()
        assert recorded[name] == hashlib.sha256(content).hexdigest()


@pytest.fixture
def schema_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "schema"
    shutil.copytree(default_directory(), copy)
    return copy


def test_new_file_is_applied_once(ch, schema_copy):
    (schema_copy / "900_probe.sql").write_text(
        "-- a later migration\n"
        "CREATE TABLE IF NOT EXISTS viewbot.migrate_probe (a UInt8) ENGINE = MergeTree ORDER BY a;\n"
        "ALTER TABLE viewbot.migrate_probe ADD COLUMN IF NOT EXISTS b String;\n"
    )
    lines: list[str] = []
    try:
        first = migrate(ch, schema_copy, progress=lines.append)
        second = migrate(ch, schema_copy)
        columns = ch.query(
            "SELECT name FROM system.columns WHERE database = 'viewbot' "
            "AND table = 'migrate_probe' ORDER BY position"
        ).result_rows
    finally:
        ch.command("DROP TABLE IF EXISTS viewbot.migrate_probe")
    assert first.applied == ["900_probe.sql"]
    assert second.applied == []
    assert columns == [("a",), ("b",)]
    assert "applied  900_probe.sql (2 statement(s))" in lines


def test_tampered_applied_file_is_refused_before_anything_runs(ch, schema_copy):
    decisions = schema_copy / "002_decisions.sql"
    decisions.write_text(decisions.read_text() + "\n-- edited after it was applied\n")
    (schema_copy / "901_probe.sql").write_text(
        "CREATE TABLE IF NOT EXISTS viewbot.tamper_probe (a UInt8) ENGINE = Memory;\n"
    )
    with pytest.raises(MigrationError, match=r"002_decisions\.sql changed after it was applied"):
        migrate(ch, schema_copy)
    exists = ch.query("EXISTS TABLE viewbot.tamper_probe").result_rows
    assert exists == [(0,)]


def test_bad_schema_directories_are_clear_errors(tmp_path):
    with pytest.raises(MigrationError, match="does not exist"):
        load_migrations(tmp_path / "missing")
    with pytest.raises(MigrationError, match=r"no \*\.sql files"):
        load_migrations(tmp_path)
    (tmp_path / "001_empty.sql").write_text("-- nothing here\n")
    with pytest.raises(MigrationError, match=r"001_empty\.sql has no SQL statement"):
        load_migrations(tmp_path)


def test_failing_statement_names_the_file(ch, schema_copy):
    (schema_copy / "902_broken.sql").write_text("CREATE TABLE viewbot.broken (a NoSuchType);\n")
    with pytest.raises(MigrationError) as info:
        migrate(ch, schema_copy)
    message = str(info.value)
    assert message.startswith("902_broken.sql: 'CREATE TABLE viewbot.broken (a NoSuchType)' failed")
    assert "\n" not in message
    recorded = ch.query(
        "SELECT count() FROM viewbot.schema_migrations WHERE name = '902_broken.sql'"
    ).result_rows
    assert recorded == [(0,)]


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["migrate", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: vbg-engine migrate" in out
    assert "--url" in out
    assert "--dir" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["migrate", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["migrate", "--url", "ftp://h"], "must start with chdb://, http:// or https://"),
        (["migrate", "--url"], "expected one argument"),
    ],
)
def test_cli_bad_arguments_exit_2(capsys, argv, fragment):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err


def test_cli_unreachable_server_is_one_line_exit_1(capsys):
    port = free_port()
    code = main(["migrate", "--url", f"http://ops:s3cret@127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"vbg-engine migrate: cannot connect to http://ops@127.0.0.1:{port}: Connection refused\n"
    )


def test_cli_uses_clickhouse_url_from_environment(ch, clickhouse_url, monkeypatch, capsys):
    monkeypatch.setenv("CLICKHOUSE_URL", clickhouse_url)
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    for name in SCHEMA_FILES:
        assert f"ok       {name} (already applied)" in out
    assert f"0 applied, {len(SCHEMA_FILES)} already applied" in out


def test_cli_on_a_fresh_chdb_twice(tmp_path):
    """A separate process, because this process already holds its one chDB path."""
    url = f"chdb://{tmp_path / 'fresh'}"
    command = [sys.executable, "-m", "engine", "migrate", "--url", url]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert f"{len(SCHEMA_FILES)} applied, 0 already applied" in first.stdout
    assert f"0 applied, {len(SCHEMA_FILES)} already applied" in second.stdout
    for name in SCHEMA_FILES:
        assert f"applied  {name}" in first.stdout
