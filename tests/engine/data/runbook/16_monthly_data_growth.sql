SELECT 
    name,
    formatReadableSize(total_bytes) as current_size,
    total_rows,
    total_bytes / total_rows as avg_bytes_per_row
FROM system.tables 
WHERE database = 'viewbot' 
ORDER BY total_bytes DESC
