SELECT sum(total_bytes) FROM system.parts 
    WHERE database = 'viewbot' AND modification_time >= now() - INTERVAL 1 MONTH
