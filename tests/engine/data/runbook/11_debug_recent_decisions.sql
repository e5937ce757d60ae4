SELECT ts, session_id, score, action FROM viewbot.decisions ORDER BY ts DESC LIMIT 10
