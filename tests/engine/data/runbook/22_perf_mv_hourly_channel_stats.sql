CREATE MATERIALIZED VIEW viewbot.mv_hourly_channel_stats
ENGINE = SummingMergeTree()
ORDER BY (channel_id, window_start)
AS
SELECT
    channel_id,
    toStartOfHour(ts) AS window_start,
    uniqExactState(session_id) AS unique_viewers,
    avgState(score) AS avg_risk_score,
    countIfState(action = 'block') AS blocked_sessions
FROM viewbot.decisions
GROUP BY channel_id, window_start;
