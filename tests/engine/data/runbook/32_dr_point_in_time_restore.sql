RESTORE TABLE viewbot.decisions 
FROM Disk('backup', 'backup_20241201/')
WHERE ts <= '2024-12-01 14:30:00';
