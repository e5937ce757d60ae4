"""Apply the ClickHouse schema (infra/clickhouse/*.sql) idempotently.

Runs against CLICKHOUSE_URL (or --url): chdb://PATH for embedded chDB, or
http(s)://user:password@host:port for a server. Files already applied are skipped; a file that
changed after it was applied is refused. Applied files are recorded in viewbot.schema_migrations.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _url(text: str) -> str:
    from engine.storage.clickhouse import StorageError, parse_url

    try:
        parse_url(text)
    except StorageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        type=_url,
        help="ClickHouse URL: chdb://PATH or http(s)://user:password@host:port "
        "(default: $CLICKHOUSE_URL)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="directory of numbered *.sql files (default: the packaged infra/clickhouse)",
    )


def run(args: argparse.Namespace) -> int:
    import logging

    from engine.config import load_settings
    from engine.errors import CommandError
    from engine.storage.clickhouse import StorageError, connect, parse_url
    from engine.storage.migrate import migrate

    # clickhouse-connect logs transport failures itself; the command reports them in one line.
    logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)
    url = args.url or load_settings().clickhouse_url
    target = parse_url(url)
    print(f"migrate: {target.describe()}", flush=True)
    try:
        client = connect(url, use_database=False)
        report = migrate(client, args.dir, progress=lambda line: print(line, flush=True))
    except StorageError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"migrate: done, {len(report.applied)} applied, {len(report.skipped)} already applied",
        flush=True,
    )
    return 0
