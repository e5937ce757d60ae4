"""engine.metrics: one registry, the guide's names, a JSON snapshot that agrees with /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from engine import metrics


def families() -> dict:
    return {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}


def test_review_gauges_are_absent_until_reviews_exist():
    metrics.set_review_quality(None, None)
    assert "viewbot_false_positive_rate" not in families()
    assert "viewbot_detection_recall" not in families()
    metrics.set_review_quality(0.02, 0.9)
    try:
        found = families()
        assert found["viewbot_false_positive_rate"].samples[0].value == 0.02
        assert found["viewbot_detection_recall"].samples[0].value == 0.9
        assert metrics.snapshot()["detection_recall"] == 0.9
    finally:
        metrics.set_review_quality(None, None)
    assert "viewbot_detection_recall" not in families()


def test_snapshot_matches_the_exposition():
    metrics.DLQ_MESSAGES.labels(source_topic="player-events", code="not_json").inc(3)
    metrics.SINK_BACKLOG.labels(sink="clickhouse").set(42)
    snap = metrics.snapshot()
    found = families()
    dlq = {
        (s.labels["source_topic"], s.labels["code"]): s.value
        for s in found["viewbot_dlq_messages"].samples
    }
    assert snap["dlq"]["player-events"]["not_json"] == dlq[("player-events", "not_json")] >= 3
    backlog = {s.labels["sink"]: s.value for s in found["viewbot_sink_backlog"].samples}
    assert snap["sink_backlog"]["clickhouse"] == backlog["clickhouse"] == 42
    assert not any(name.endswith("_created") for name in found)


def test_every_input_topic_and_action_is_exposed_from_the_start():
    found = families()
    assert {s.labels["topic"] for s in found["viewbot_events_in"].samples} >= {
        "cdn-logs",
        "player-events",
        "chat-events",
        "challenge-results",
    }
    assert {s.labels["action"] for s in found["viewbot_decisions"].samples} == {
        "count",
        "suppress",
        "challenge",
        "block",
    }
    assert found["viewbot_redis_pending_enforcement"].type == "gauge"


def fresh_histogram() -> Histogram:
    return Histogram("h", "h", buckets=metrics.LATENCY_BUCKETS, registry=CollectorRegistry())


def test_quantiles_interpolate_like_histogram_quantile():
    h = fresh_histogram()
    assert metrics.histogram_quantiles(h) == {"p50": None, "p95": None, "p99": None}
    for value in (0.02, 0.02, 0.2, 0.7):
        h.observe(value)
    # p50: rank 2 falls in (0.01, 0.025] holding 2 → 0.025; p95: rank 3.8 in (0.5, 1] → 0.9
    got = metrics.histogram_quantiles(h, (0.5, 0.95))
    assert got == {"p50": pytest.approx(0.025), "p95": pytest.approx(0.9)}


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound():
    h = fresh_histogram()
    h.observe(500)
    assert metrics.histogram_quantiles(h, (0.99,)) == {"p99": 60.0}


def test_alert_threshold_is_a_bucket_boundary():
    assert 15.0 in metrics.LATENCY_BUCKETS  # ProcessingLatencyHigh compares p95 with 15 s
