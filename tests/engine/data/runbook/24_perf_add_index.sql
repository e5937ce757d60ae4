ALTER TABLE viewbot.decisions 
ADD INDEX idx_channel_score (channel_id, score) TYPE minmax GRANULARITY 4;
