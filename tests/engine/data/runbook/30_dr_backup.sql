BACKUP TABLE viewbot.decisions, viewbot.raw_cdn_log 
    TO Disk('backup', '$BACKUP_DIR/clickhouse/')
