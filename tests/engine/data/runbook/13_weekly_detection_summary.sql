SELECT 
    'Detection Summary' as metric,
    count() as total_decisions,
    avg(score) as avg_risk_score,
    countIf(action = 'block') / count() as block_rate,
    countIf(action = 'challenge') / count() as challenge_rate
FROM viewbot.decisions 
WHERE ts >= now() - INTERVAL 7 DAY
