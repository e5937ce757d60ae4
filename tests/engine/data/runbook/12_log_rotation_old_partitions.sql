SELECT 'ALTER TABLE ' || database || '.' || name || ' DROP PARTITION ' || partition_id || ';'
FROM system.parts 
WHERE database = 'viewbot' 
  AND modification_time < now() - INTERVAL 30 DAY
  AND active = 0
