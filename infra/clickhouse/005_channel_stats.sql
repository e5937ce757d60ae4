-- Per channel and minute: viewers the CDN saw (raw) against viewers counted after enforcement.
--
-- raw_viewers = counted_viewers + suppressed + challenged + blocked (active sessions by their
-- current action). Workers own different Kafka partitions, so each writes the counts of its own
-- sessions under its `source` (e.g. 'p3' for partition 3); readers sum over sources.
-- A rewrite of the same (channel_id, minute, source) replaces the earlier row (newest updated_at).
CREATE TABLE IF NOT EXISTS viewbot.channel_stats
(
    minute DateTime('UTC'),
    channel_id LowCardinality(String),
    source LowCardinality(String) DEFAULT '',
    raw_viewers UInt32,
    counted_viewers UInt32,
    suppressed UInt32,
    challenged UInt32,
    blocked UInt32,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (channel_id, minute, source)
TTL minute + INTERVAL 1 YEAR DELETE;
