CREATE VIEW viewbot.decisions_masked AS
SELECT 
    ts,
    left(session_id, 8) || '***' AS session_id,
    channel_id,
    score,
    reasons,
    action
FROM viewbot.decisions;
