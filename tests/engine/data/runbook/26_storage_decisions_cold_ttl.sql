ALTER TABLE viewbot.decisions 
MODIFY TTL ts + INTERVAL 6 MONTH TO DISK 'cold',
         ts + INTERVAL 2 YEAR DELETE;
