SELECT 
       countIf(manual_review_result = 'legitimate') / count() as fp_rate
   FROM viewbot.decisions d
   LEFT JOIN viewbot.manual_reviews r ON d.session_id = r.session_id
   WHERE d.ts >= now() - INTERVAL 1 HOUR AND d.score > 0.5
