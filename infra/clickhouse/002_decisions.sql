-- One row per decision of DESIGN §3 (topic `decisions`).
--
-- At-least-once delivery: the sink may write a decision twice (crash before ack, replay).
-- ReplacingMergeTree keyed on (channel_id, ts, decision_id) makes the copy replace itself:
-- decision_id and ts (event time) are deterministic, so a replayed decision has the same key.
-- decided_at is the version, so the newest write wins. Queries that need exact counts read with
-- FINAL (the query catalog does). non_replicated_deduplication_window lets the sink also pass an
-- insert_deduplication_token per batch on a single, non-replicated server or chDB.
--
-- ORDER BY starts with channel_id, then ts: per-channel time ranges read a contiguous slice.
-- PARTITION BY toYYYYMM(ts) is what the operations guide's `MODIFY PARTITION BY toYYYYMM(ts)`
-- asks for (ClickHouse cannot change a partition key with ALTER, so it is set here).
-- idx_channel_score is the guide's "index for common queries".
-- TTL: the guide keeps decisions 2 years. Its 6-month `TO DISK 'cold'` move needs a storage
-- policy with a disk named `cold` in the server configuration; where one exists, run the guide's
-- `ALTER TABLE viewbot.decisions MODIFY TTL ...` there. It is not part of the portable schema.
CREATE TABLE IF NOT EXISTS viewbot.decisions
(
    decision_id String,
    ts DateTime64(3, 'UTC') COMMENT 'event time of the newest event behind the decision',
    decided_at DateTime64(3, 'UTC') COMMENT 'service wall clock; equals ts in replay',
    session_id String,
    channel_id LowCardinality(String),
    score Float64,
    action Enum8('count' = 0, 'suppress' = 1, 'challenge' = 2, 'block' = 3),
    reasons Array(LowCardinality(String)) COMMENT 'stable snake_case codes, most important first',
    features Map(LowCardinality(String), Float64),
    rule_version LowCardinality(String),
    INDEX idx_channel_score (channel_id, score) TYPE minmax GRANULARITY 4,
    INDEX idx_session session_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (channel_id, ts, decision_id)
TTL ts + INTERVAL 2 YEAR DELETE
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;
