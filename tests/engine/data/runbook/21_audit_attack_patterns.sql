SELECT
    'Attack Pattern Analysis' as check_type,
    reasons,
    count() as occurrence_count,
    uniqExact(session_id) as unique_sessions
FROM viewbot.decisions
WHERE ts >= now() - INTERVAL 1 MONTH AND score > 0.7
GROUP BY reasons
ORDER BY occurrence_count DESC
LIMIT 10
