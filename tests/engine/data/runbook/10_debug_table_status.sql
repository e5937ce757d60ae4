SELECT database, name, total_rows, total_bytes FROM system.tables WHERE database = 'viewbot'
