SELECT 
    'Suspicious ASN Concentration' as check_type,
    asn,
    count() as session_count,
    avg(score) as avg_risk_score
FROM viewbot.decisions d
JOIN viewbot.raw_cdn_log r ON d.session_id = r.session_id
WHERE d.ts >= now() - INTERVAL 1 MONTH
GROUP BY asn
HAVING session_count > 1000 AND avg_risk_score > 0.5
ORDER BY session_count DESC
LIMIT 10
