SELECT sum(total_bytes) FROM system.tables WHERE database = 'viewbot'
