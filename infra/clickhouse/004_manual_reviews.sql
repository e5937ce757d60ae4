-- Ground truth for false-positive rates: an analyst's verdict on a session.
--
-- manual_review_result is a String with a CHECK, not an Enum, on purpose: in a LEFT JOIN an
-- unmatched row gets the column default, and an Enum's default is its first value, which would
-- make every unreviewed session look 'legitimate' in the guide's false-positive query.
-- is_legitimate is derived from the result and cannot be written.
-- One verdict per session: a later review (newer review_date) replaces an earlier one.
CREATE TABLE IF NOT EXISTS viewbot.manual_reviews
(
    session_id String,
    review_date DateTime('UTC'),
    manual_review_result LowCardinality(String),
    is_legitimate Bool MATERIALIZED manual_review_result = 'legitimate',
    reviewer LowCardinality(String),
    note String DEFAULT '',
    CONSTRAINT valid_result CHECK manual_review_result IN ('legitimate', 'viewbot')
)
ENGINE = ReplacingMergeTree(review_date)
ORDER BY session_id;
