SELECT
  toStartOfMinute(ts) as time,
  count() / 60 as events_per_second,
  quantile(0.95)(score) as p95_risk_score
FROM viewbot.decisions  
WHERE ts >= now() - INTERVAL 1 HOUR
GROUP BY time
ORDER BY time
