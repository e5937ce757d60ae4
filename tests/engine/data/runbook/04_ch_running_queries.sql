SELECT query, elapsed FROM system.processes
