ALTER TABLE viewbot.raw_cdn_log 
MODIFY TTL ts + INTERVAL 90 DAY;
