SELECT
    'Processing Performance' as metric,
    count() / (7 * 24 * 3600) as avg_events_per_second,
    quantile(0.95)(score) as p95_risk_score
FROM viewbot.decisions
WHERE ts >= now() - INTERVAL 7 DAY
