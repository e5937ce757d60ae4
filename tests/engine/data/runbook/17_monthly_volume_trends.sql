SELECT 
    toYYYYMM(ts) as month,
    count() as total_decisions,
    uniqExact(session_id) as unique_sessions,
    uniqExact(channel_id) as active_channels
FROM viewbot.decisions
WHERE ts >= now() - INTERVAL 3 MONTH
GROUP BY month
ORDER BY month
