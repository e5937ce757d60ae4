-- The operations guide's data-masking view (section "Data Masking"), with IF NOT EXISTS:
-- session ids cut to 8 characters, for people who need trends but not identities.
CREATE VIEW IF NOT EXISTS viewbot.decisions_masked AS
SELECT
    ts,
    left(session_id, 8) || '***' AS session_id,
    channel_id,
    score,
    reasons,
    action
FROM viewbot.decisions;
