"""The query catalog: every ClickHouse query Viewbot Guard runs, by name.

The engine's ``/api/v1/analytics/{name}`` endpoints, the cockpit and the playbooks' ClickHouse
probes all read through :func:`run`, so a query is written, reviewed and tested once. Each query
declares typed parameters that ClickHouse binds server-side (``{name:Type}``); nothing is ever
formatted into SQL text. Queries only read and run with ``readonly=1``.

Decision queries read ``FINAL`` so a decision the sink wrote twice (at-least-once delivery) is
counted once. An empty ``channel_id`` means all channels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.analytics.params import CatalogError, Param, ParamError, UnknownQueryError
from engine.storage.clickhouse import StorageError, to_thread

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "QUERIES",
    "CatalogError",
    "NamedQuery",
    "Param",
    "ParamError",
    "UnknownQueryError",
    "get",
    "query_specs",
    "run",
    "run_async",
]

_PLACEHOLDER = re.compile(r"\{(\w+):([^{}]+)\}")
_READ_ONLY_SHAPE = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    params: tuple[Param, ...] = ()

    def __post_init__(self) -> None:
        # Only SELECTs: readonly=1 then rides on the query itself. (clickhouse-connect's chDB
        # backend applies settings of other statements with SET and cannot undo readonly.)
        if not _READ_ONLY_SHAPE.match(self.sql):
            raise ValueError(f"query {self.name}: catalog queries must be SELECT or WITH")
        declared = {p.name: p.type for p in self.params}
        used: dict[str, str] = {}
        for name, ch_type in _PLACEHOLDER.findall(self.sql):
            if declared.get(name) != ch_type:
                raise ValueError(f"query {self.name}: placeholder {{{name}:{ch_type}}} undeclared")
            used[name] = ch_type
        unused = set(declared) - set(used)
        if unused:
            raise ValueError(f"query {self.name}: declared but unused: {', '.join(sorted(unused))}")

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Checked values for every parameter (defaults filled in), or :class:`ParamError`."""
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParamError(
                f"query {self.name}: unknown parameter {', '.join(unknown)}"
                f" (expected: {', '.join(sorted(known)) or 'none'})"
            )
        bound: dict[str, Any] = {}
        for param in self.params:
            if param.name in params:
                bound[param.name] = param.check(self.name, params[param.name])
            elif param.required:
                raise ParamError(f"query {self.name}: missing parameter {param.name}")
            else:
                bound[param.name] = param.default
        return bound

    def parse(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Typed parameters from their text form (URL query strings); unknown names are errors."""
        by_name = {p.name: p for p in self.params}
        unknown = sorted(set(raw) - set(by_name))
        if unknown:
            raise ParamError(f"query {self.name}: unknown parameter {', '.join(unknown)}")
        return {name: by_name[name].parse(self.name, text) for name, text in raw.items()}

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": [p.spec() for p in self.params],
        }


def _channel() -> Param:
    return Param("channel_id", "String", "only this channel; empty for all channels", "")


def _window(name: str, unit: str, default: int, maximum: int) -> Param:
    return Param(name, "UInt32", f"look back this many {unit}", default, 1, maximum)


_QUERIES = (
    NamedQuery(
        "top_risk_sessions",
        "Sessions with the highest current score in the window: the latest decision of each "
        "session (score, action, reasons, ts), its peak score and how many decisions it had.",
        """
SELECT
    session_id,
    argMax(d.channel_id, d.ts) AS channel_id,
    argMax(d.score, d.ts) AS score,
    argMax(d.action, d.ts) AS action,
    argMax(d.reasons, d.ts) AS reasons,
    max(d.ts) AS ts,
    max(d.score) AS peak_score,
    count() AS decisions
FROM viewbot.decisions AS d FINAL
WHERE d.ts >= now() - INTERVAL {minutes_back:UInt32} MINUTE
  AND ({channel_id:String} = '' OR d.channel_id = {channel_id:String})
GROUP BY session_id
HAVING score >= {min_score:Float64}
ORDER BY score DESC, ts DESC, session_id
LIMIT {limit:UInt32}
""",
        (
            _window("minutes_back", "minutes", 60, 60 * 24 * 31),
            _channel(),
            Param("min_score", "Float64", "only sessions scoring at least this", 0.0, 0, 1),
            Param("limit", "UInt32", "at most this many sessions", 20, 1, 10_000),
        ),
    ),
    NamedQuery(
        "detection_overview_by_hour",
        "Decisions per hour by action (the guide's Detection Overview panel).",
        """
SELECT
    toStartOfHour(ts) AS time,
    countIf(action = 'count') AS counted,
    countIf(action = 'suppress') AS suppressed,
    countIf(action = 'challenge') AS challenged,
    countIf(action = 'block') AS blocked,
    count() AS total
FROM viewbot.decisions FINAL
WHERE ts >= now() - INTERVAL {hours_back:UInt32} HOUR
  AND ({channel_id:String} = '' OR channel_id = {channel_id:String})
GROUP BY time
ORDER BY time
""",
        (_window("hours_back", "hours", 24, 24 * 366), _channel()),
    ),
    NamedQuery(
        "system_performance_by_minute",
        "Per minute: decisions, decisions per second (the guide's events_per_second), the "
        "exact p95 risk score, and the p95 delay from event time to decision (decided_at - ts).",
        """
SELECT
    toStartOfMinute(ts) AS time,
    count() AS decisions,
    count() / 60 AS events_per_second,
    quantileExact(0.95)(score) AS p95_risk_score,
    quantileExact(0.95)(dateDiff('millisecond', ts, decided_at)) / 1000 AS p95_decision_delay_s
FROM viewbot.decisions FINAL
WHERE ts >= now() - INTERVAL {minutes_back:UInt32} MINUTE
  AND ({channel_id:String} = '' OR channel_id = {channel_id:String})
GROUP BY time
ORDER BY time
""",
        (_window("minutes_back", "minutes", 60, 60 * 24 * 31), _channel()),
    ),
    NamedQuery(
        "false_positive_rate",
        "Detection quality against manual_reviews (reviews in the window, latest verdict per "
        "session). A session is actioned if any of its decisions in the window was not 'count'. "
        "false_positive_rate = actioned sessions reviewed legitimate / actioned reviewed "
        "sessions; detection_recall = actioned sessions reviewed viewbot / sessions reviewed "
        "viewbot. Both are NULL without a denominator.",
        """
WITH
    reviews AS (
        SELECT session_id, manual_review_result AS result
        FROM viewbot.manual_reviews FINAL
        WHERE review_date >= now() - INTERVAL {days_back:UInt32} DAY
    ),
    flagged AS (
        SELECT session_id, max(action != 'count') AS actioned
        FROM viewbot.decisions FINAL
        WHERE ts >= now() - INTERVAL {days_back:UInt32} DAY
        GROUP BY session_id
    )
SELECT
    count() AS reviewed,
    countIf(r.result = 'legitimate') AS reviewed_legitimate,
    countIf(r.result = 'viewbot') AS reviewed_viewbot,
    countIf(f.actioned = 1) AS actioned,
    countIf(f.actioned = 1 AND r.result = 'legitimate') AS false_positives,
    countIf(f.actioned = 1 AND r.result = 'viewbot') AS true_positives,
    if(actioned = 0, NULL, false_positives / actioned) AS false_positive_rate,
    if(reviewed_viewbot = 0, NULL, true_positives / reviewed_viewbot) AS detection_recall
FROM reviews AS r
LEFT JOIN flagged AS f ON r.session_id = f.session_id
""",
        (_window("days_back", "days", 7, 366),),
    ),
    NamedQuery(
        "channel_stats",
        "Per channel and minute: raw viewers (the CDN's count), counted viewers, the "
        "difference, and active sessions suppressed/challenged/blocked, summed over writers.",
        """
SELECT
    s.channel_id AS channel_id,
    s.minute AS minute,
    sum(s.raw_viewers) AS raw_viewers,
    sum(s.counted_viewers) AS counted_viewers,
    toInt64(raw_viewers) - toInt64(counted_viewers) AS uncounted_viewers,
    sum(s.suppressed) AS suppressed,
    sum(s.challenged) AS challenged,
    sum(s.blocked) AS blocked
FROM viewbot.channel_stats AS s FINAL
WHERE s.minute >= now() - INTERVAL {minutes_back:UInt32} MINUTE
  AND ({channel_id:String} = '' OR s.channel_id = {channel_id:String})
GROUP BY channel_id, minute
ORDER BY channel_id, minute
""",
        (_window("minutes_back", "minutes", 60, 60 * 24 * 31), _channel()),
    ),
    NamedQuery(
        "hourly_channel_stats",
        "Per channel and hour from the guide's mv_hourly_channel_stats: unique sessions, "
        "average risk score and block decisions.",
        """
SELECT
    m.channel_id AS channel_id,
    m.window_start AS window_start,
    uniqExactMerge(m.unique_viewers) AS unique_viewers,
    avgMerge(m.avg_risk_score) AS avg_risk_score,
    countIfMerge(m.blocked_sessions) AS blocked_sessions
FROM viewbot.mv_hourly_channel_stats AS m
WHERE m.window_start >= toStartOfHour(now() - INTERVAL {hours_back:UInt32} HOUR)
  AND ({channel_id:String} = '' OR m.channel_id = {channel_id:String})
GROUP BY channel_id, window_start
ORDER BY channel_id, window_start
""",
        (_window("hours_back", "hours", 24, 24 * 366), _channel()),
    ),
    NamedQuery(
        "summary",
        "Health summary for /api/v1/analytics/summary: decisions by action, block and challenge "
        "rates (share of decisions), events_per_second (decisions per second over the window, "
        "the guide's definition), and error_rate = share of CDN requests in the window answered "
        "with a 5xx status (raw_cdn_log; 0 without requests). Rates are 0 without decisions.",
        """
WITH
    d AS (
        SELECT
            count() AS decisions,
            uniqExact(session_id) AS sessions,
            countIf(action = 'count') AS counted,
            countIf(action = 'suppress') AS suppressed,
            countIf(action = 'challenge') AS challenged,
            countIf(action = 'block') AS blocked
        FROM viewbot.decisions FINAL
        WHERE ts >= now() - INTERVAL {hours_back:UInt32} HOUR
          AND ({channel_id:String} = '' OR channel_id = {channel_id:String})
    ),
    c AS (
        SELECT count() AS requests, countIf(status >= 500) AS errors
        FROM viewbot.raw_cdn_log FINAL
        WHERE ts >= now() - INTERVAL {hours_back:UInt32} HOUR
          AND ({channel_id:String} = '' OR channel_id = {channel_id:String})
    )
SELECT
    {hours_back:UInt32} AS hours_back,
    d.decisions AS decisions,
    d.sessions AS sessions,
    d.counted AS counted,
    d.suppressed AS suppressed,
    d.challenged AS challenged,
    d.blocked AS blocked,
    if(d.decisions = 0, 0, d.blocked / d.decisions) AS block_rate,
    if(d.decisions = 0, 0, d.challenged / d.decisions) AS challenge_rate,
    d.decisions / ({hours_back:UInt32} * 3600) AS events_per_second,
    c.requests AS cdn_requests,
    c.errors AS cdn_errors,
    if(c.requests = 0, 0, c.errors / c.requests) AS error_rate
FROM d CROSS JOIN c
""",
        (_window("hours_back", "hours", 1, 24 * 366), _channel()),
    ),
    NamedQuery(
        "session_decisions",
        "The most recent decisions of one session, newest first (session drill-down).",
        """
SELECT decision_id, ts, decided_at, session_id, channel_id, score, action, reasons,
       features, rule_version
FROM viewbot.decisions FINAL
WHERE session_id = {session_id:String}
ORDER BY ts DESC, decision_id
LIMIT {limit:UInt32}
""",
        (
            Param("session_id", "String", "the session"),
            Param("limit", "UInt32", "at most this many decisions", 50, 1, 10_000),
        ),
    ),
    NamedQuery(
        "table_sizes",
        "Rows and bytes per table of the viewbot database (views have none), largest first.",
        """
SELECT name, engine, total_rows, total_bytes, formatReadableSize(total_bytes) AS size
FROM system.tables
WHERE database = 'viewbot'
ORDER BY total_bytes DESC, name
""",
    ),
    NamedQuery(
        "parts_growth",
        "Bytes on disk of active data parts of the viewbot database written in the window (the "
        "guide's monthly-growth figure; system.parts has bytes_on_disk, not total_bytes).",
        """
SELECT sum(bytes_on_disk) AS bytes, count() AS parts
FROM system.parts
WHERE database = 'viewbot' AND active
  AND modification_time >= now() - INTERVAL {days_back:UInt32} DAY
""",
        (_window("days_back", "days", 30, 3660),),
    ),
    NamedQuery(
        "decision_counts",
        "Integrity of viewbot.decisions: rows stored (with replayed copies not yet merged), rows "
        "read with FINAL, and distinct decision ids; FINAL rows equal distinct ids when nothing "
        "is duplicated (at-least-once delivery check).",
        """
SELECT
    (SELECT count() FROM viewbot.decisions) AS rows_stored,
    (SELECT count() FROM viewbot.decisions FINAL) AS rows_final,
    (SELECT uniqExact(decision_id) FROM viewbot.decisions) AS distinct_ids
""",
    ),
    NamedQuery(
        "schema_migrations",
        "Schema files applied by `vbg-engine migrate`, with their checksums.",
        """
SELECT name, checksum, applied_at, statements
FROM viewbot.schema_migrations FINAL
ORDER BY name
""",
    ),
)

QUERIES: dict[str, NamedQuery] = {q.name: q for q in _QUERIES}


def get(name: str) -> NamedQuery:
    try:
        return QUERIES[name]
    except KeyError:
        raise UnknownQueryError(
            f"unknown query {name!r} (known: {', '.join(sorted(QUERIES))})"
        ) from None


def query_specs() -> list[dict[str, Any]]:
    """Every query's name, description and parameters, for the API and the cockpit."""
    return [q.spec() for q in QUERIES.values()]


def run(client: Client, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run a catalog query read-only; rows as dicts keyed by column name.

    Raises :class:`CatalogError` for the caller's mistakes (unknown query, bad parameters) and
    :class:`StorageError` when ClickHouse fails.
    """
    query = get(name)
    bound = query.bind(params or {})
    try:
        result = client.query(query.sql, parameters=bound, settings={"readonly": 1})
    except Exception as exc:
        message = " ".join(str(exc).split())[:300]
        raise StorageError(f"query {name} failed: {message}") from None
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


async def run_async(
    client: Client, name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """:func:`run` in a worker thread, for the event loop of the engine and the cockpit."""
    return await to_thread(run, client, name, params)
