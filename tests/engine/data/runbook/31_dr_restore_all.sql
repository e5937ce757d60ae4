RESTORE ALL FROM Disk('backup', '/backup/')
