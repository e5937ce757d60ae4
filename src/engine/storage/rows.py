"""Rows for the ClickHouse tables, built from the wire structs of ``engine.schemas``.

The sinks insert through these helpers so the column order lives in one place next to the
schema. Inserts go through clickhouse-connect's native insert (no SQL text). A deduplication
token makes a retried batch a no-op on the server, on top of ReplacingMergeTree's replacement
of replayed rows (DESIGN §2, at-least-once with idempotent sinks).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.schemas import CdnLog, Decision

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

DATABASE = "viewbot"
DECISION_COLUMNS = (
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
)
CDN_LOG_COLUMNS = (
    "event_id",
    "ts",
    "session_id",
    "channel_id",
    "client_ip",
    "asn",
    "country",
    "user_agent",
    "method",
    "path",
    "status",
    "bytes_sent",
    "object_size",
    "duration_ms",
    "referer",
    "tls_fingerprint",
)


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def decision_row(d: Decision) -> list[Any]:
    return [
        d.decision_id,
        _time(d.ts),
        _time(d.decided_at),
        d.session_id,
        d.channel_id,
        d.score,
        d.action,
        list(d.reasons),
        dict(d.features),
        d.rule_version,
    ]


def cdn_log_row(e: CdnLog) -> list[Any]:
    return [
        e.event_id,
        _time(e.ts),
        e.session_id,
        e.channel_id,
        e.client_ip,
        e.asn,
        e.country,
        e.user_agent,
        e.method,
        e.path,
        e.status,
        e.bytes_sent,
        e.object_size,
        e.duration_ms,
        e.referer,
        e.tls_fingerprint,
    ]


def insert_decisions(
    client: Client, decisions: Iterable[Decision], *, dedup_token: str | None = None
) -> int:
    """Insert decisions into ``viewbot.decisions``; returns the number of rows sent."""
    rows = [decision_row(d) for d in decisions]
    _insert(client, "decisions", rows, DECISION_COLUMNS, dedup_token)
    return len(rows)


def insert_cdn_logs(
    client: Client, events: Iterable[CdnLog], *, dedup_token: str | None = None
) -> int:
    """Insert CDN log lines into ``viewbot.raw_cdn_log``; returns the number of rows sent."""
    rows = [cdn_log_row(e) for e in events]
    _insert(client, "raw_cdn_log", rows, CDN_LOG_COLUMNS, dedup_token)
    return len(rows)


def _insert(
    client: Client,
    table: str,
    rows: list[list[Any]],
    columns: tuple[str, ...],
    dedup_token: str | None,
) -> None:
    if not rows:
        return
    settings = {"insert_deduplication_token": dedup_token} if dedup_token else None
    client.insert(table, rows, column_names=list(columns), database=DATABASE, settings=settings)
