"""Apply the ClickHouse schema (``infra/clickhouse/*.sql``) idempotently.

Files run in name order (``001_…``, ``002_…``). Every statement in them is idempotent on its own
(``IF NOT EXISTS``), and each applied file is recorded in ``viewbot.schema_migrations`` with its
SHA-256, so a second run skips it. A file whose content changed after it was applied is refused
before anything runs: the schema a database has must be reproducible from the files, so changes
go into a new numbered file.

The files are found through the package (``engine/storage/sql`` is a symlink to
``infra/clickhouse``): the same path works from a source checkout, the editable install and a
built wheel, which copies the files in as package data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from engine.analytics import catalog
from engine.storage.clickhouse import StorageError
from engine.storage.sqlscript import split_statements

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

DATABASE = "viewbot"
LEDGER = "schema_migrations"

# The ledger must exist before the files can be checked against it, so it is created here.
_BOOTSTRAP = (
    "CREATE DATABASE IF NOT EXISTS viewbot",
    """
CREATE TABLE IF NOT EXISTS viewbot.schema_migrations
(
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC'),
    statements UInt32
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY name
""",
)


class MigrationError(StorageError):
    """The migration files or the recorded state do not allow a safe run."""


@dataclass(frozen=True)
class Migration:
    name: str
    checksum: str
    statements: tuple[str, ...]


@dataclass
class MigrateReport:
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def default_directory() -> Path:
    """The packaged schema directory (``infra/clickhouse`` through ``engine/storage/sql``)."""
    return Path(str(resources.files("engine.storage").joinpath("sql")))


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """The ``*.sql`` files of ``directory`` in name order, split into statements."""
    directory = directory or default_directory()
    if not directory.is_dir():
        raise MigrationError(f"schema directory {directory} does not exist")
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_bytes().replace(b"\r\n", b"\n")
        try:
            statements = tuple(split_statements(text.decode("utf-8")))
        except UnicodeDecodeError:
            raise MigrationError(f"{path.name} is not UTF-8") from None
        if not statements:
            raise MigrationError(f"{path.name} has no SQL statement")
        migrations.append(Migration(path.name, hashlib.sha256(text).hexdigest(), statements))
    if not migrations:
        raise MigrationError(f"no *.sql files in {directory}")
    return migrations


def migrate(
    client: Client,
    directory: Path | None = None,
    *,
    progress: Callable[[str], None] = lambda line: None,
) -> MigrateReport:
    """Apply the pending files of ``directory`` and record them; returns what ran and what not."""
    migrations = load_migrations(directory)
    for statement in _BOOTSTRAP:
        _execute(client, "bootstrap", statement)
    recorded = {row["name"]: row["checksum"] for row in catalog.run(client, "schema_migrations")}
    for migration in migrations:
        old = recorded.get(migration.name)
        if old is not None and old != migration.checksum:
            raise MigrationError(
                f"{migration.name} changed after it was applied (recorded sha256 {old[:12]}, "
                f"file {migration.checksum[:12]}); put schema changes in a new numbered file"
            )
    report = MigrateReport()
    for migration in migrations:
        if migration.name in recorded:
            progress(f"ok       {migration.name} (already applied)")
            report.skipped.append(migration.name)
            continue
        for statement in migration.statements:
            _execute(client, migration.name, statement)
        client.insert(
            LEDGER,
            [[migration.name, migration.checksum, datetime.now(UTC), len(migration.statements)]],
            column_names=["name", "checksum", "applied_at", "statements"],
            database=DATABASE,
        )
        progress(f"applied  {migration.name} ({len(migration.statements)} statement(s))")
        report.applied.append(migration.name)
    return report


def _execute(client: Client, source: str, statement: str) -> None:
    try:
        client.command(statement)
    except Exception as exc:
        first_line = statement.strip().splitlines()[0]
        message = " ".join(str(exc).split())[:300]
        raise MigrationError(f"{source}: {first_line!r} failed: {message}") from None
