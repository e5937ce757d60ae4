SELECT 
  toStartOfHour(ts) as time,
  countIf(action = 'count') as counted,
  countIf(action = 'suppress') as suppressed, 
  countIf(action = 'challenge') as challenged,
  countIf(action = 'block') as blocked
FROM viewbot.decisions
WHERE ts >= now() - INTERVAL 24 HOUR
GROUP BY time
ORDER BY time
