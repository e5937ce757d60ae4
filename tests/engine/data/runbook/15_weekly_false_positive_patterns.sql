WITH manual_reviews AS (
    SELECT session_id, true as is_legitimate 
    FROM viewbot.manual_reviews 
    WHERE review_date >= now() - INTERVAL 7 DAY
)
SELECT 
    d.action,
    countIf(r.is_legitimate) as false_positives,
    count() as total_actions,
    false_positives / total_actions as fp_rate
FROM viewbot.decisions d
LEFT JOIN manual_reviews r ON d.session_id = r.session_id
WHERE d.ts >= now() - INTERVAL 7 DAY
GROUP BY d.action
ORDER BY fp_rate DESC
