SELECT 
    client_ip,
    count() as request_count,
    uniqExact(session_id) as unique_sessions,
    request_count / unique_sessions as requests_per_session
FROM viewbot.raw_cdn_log
WHERE ts >= now() - INTERVAL 1 HOUR
GROUP BY client_ip
HAVING requests_per_session > 100
ORDER BY request_count DESC
