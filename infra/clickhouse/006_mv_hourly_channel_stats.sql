-- The operations guide's materialized view (section "Query Performance"), with IF NOT EXISTS.
-- It aggregates decisions as they are inserted; read it with the -Merge combinators
-- (uniqExactMerge, avgMerge, countIfMerge), as the catalog's hourly_channel_stats does.
-- blocked_sessions counts block decisions (the guide's name); a replayed decision that the
-- sink writes twice is counted twice here, while unique_viewers is exact.
CREATE MATERIALIZED VIEW IF NOT EXISTS viewbot.mv_hourly_channel_stats
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
