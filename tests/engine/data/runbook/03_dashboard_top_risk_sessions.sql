SELECT 
  session_id,
  channel_id,
  score,
  reasons,
  action,
  ts
FROM viewbot.decisions
WHERE ts >= now() - INTERVAL 1 HOUR
ORDER BY score DESC, ts DESC
LIMIT 20
