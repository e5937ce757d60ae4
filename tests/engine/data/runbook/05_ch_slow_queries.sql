SELECT * FROM system.processes WHERE elapsed > 10
