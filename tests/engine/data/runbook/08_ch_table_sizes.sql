SELECT database, name, formatReadableSize(total_bytes) FROM system.tables WHERE database = 'viewbot'
