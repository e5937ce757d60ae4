ALTER TABLE viewbot.decisions 
MODIFY SETTING index_granularity = 8192,
                max_part_size = 1073741824;
