-- CDN log lines (topic `cdn-logs`, DESIGN §3), sampled or full, kept 90 days.
--
-- PARTITION BY toYYYYMMDD(ts): one partition per UTC day, so the operations guide's
-- `ALTER TABLE viewbot.raw_cdn_log DROP PARTITION '20241201'` drops exactly that day.
-- ReplacingMergeTree on event_id: a re-delivered log line replaces itself.
CREATE TABLE IF NOT EXISTS viewbot.raw_cdn_log
(
    event_id String,
    ts DateTime64(3, 'UTC'),
    session_id String,
    channel_id LowCardinality(String),
    client_ip String COMMENT 'IPv4 or IPv6 as sent by the CDN',
    asn UInt32,
    country LowCardinality(String) COMMENT 'ISO 3166 alpha-2',
    user_agent String,
    method LowCardinality(String),
    path String,
    status UInt16,
    bytes_sent UInt64,
    object_size UInt64,
    duration_ms UInt32,
    referer String,
    tls_fingerprint String COMMENT 'JA4, may be empty',
    INDEX idx_session session_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_client_ip client_ip TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (channel_id, ts, event_id)
TTL ts + INTERVAL 90 DAY DELETE;
