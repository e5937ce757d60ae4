"""Every Prometheus metric of the engine, in one registry that ``GET /metrics`` exposes.

Names follow the operations guide's alert rules (``infra/prometheus/alerts.yml``). Counters are
exposed with the ``_total`` suffix (``viewbot_api_errors_total``), histograms as ``_bucket``,
``_sum`` and ``_count`` series, as every Prometheus client does.

The review-quality gauges (false-positive rate, detection recall) are only exposed once a value
was set from ``manual_reviews``: a default of 0 would fire the recall alert on a fresh install.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.schemas import ACTIONS, INPUT_TOPICS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
disable_created_metrics()  # the *_created series only add noise to every counter
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Event (ingest) time to decision published; sub-second normally, tens of seconds when backed up.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)
SINKS = ("clickhouse", "redis", "kafka")

PROCESSING_LATENCY = Histogram(
    "viewbot_processing_latency",
    "Seconds from an event entering the engine to the decision it caused being published",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
EVENTS_IN = Counter(
    "viewbot_events_in", "Input messages consumed, per topic", ["topic"], registry=REGISTRY
)
DECISIONS = Counter(
    "viewbot_decisions", "Decisions published, per action", ["action"], registry=REGISTRY
)
DLQ_MESSAGES = Counter(
    "viewbot_dlq_messages",
    "Messages sent to the dlq topic, per source topic and error code",
    ["source_topic", "code"],
    registry=REGISTRY,
)
DLQ_REPLAYED = Counter(
    "viewbot_dlq_replayed",
    "DLQ records re-published to their source topic",
    ["source_topic"],
    registry=REGISTRY,
)
SINK_BACKLOG = Gauge(
    "viewbot_sink_backlog", "Records waiting to be written, per sink", ["sink"], registry=REGISTRY
)
SINK_WRITE_FAILURES = Counter(
    "viewbot_sink_write_failures",
    "Failed sink write attempts, per sink",
    ["sink"],
    registry=REGISTRY,
)
MERGE_RELEASED_EARLY = Counter(
    "viewbot_merge_released_early",
    "Events applied ahead of an input partition still catching up (merge buffer full or the "
    "partition silent too long): event-time order, and so parity with replay, not guaranteed",
    registry=REGISTRY,
)
REDIS_PENDING_ENFORCEMENT = Gauge(
    "viewbot_redis_pending_enforcement",
    "Enforcement writes held back while Redis is unreachable",
    registry=REGISTRY,
)
LAST_EVENT_TS = Gauge(
    "viewbot_last_event_timestamp_seconds",
    "Event time of the newest event processed (data freshness)",
    registry=REGISTRY,
)
API_REQUESTS = Counter("viewbot_api_requests", "HTTP API requests answered", registry=REGISTRY)
API_ERRORS = Counter(
    "viewbot_api_errors", "HTTP API responses with a 4xx or 5xx status", registry=REGISTRY
)
API_LATENCY = Histogram(
    "viewbot_api_request_duration_seconds",
    "HTTP API response time, per route",
    ["route"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SSE_CLIENTS = Gauge(
    "viewbot_sse_clients", "Open decision-stream (SSE) connections", registry=REGISTRY
)
SSE_DROPPED = Counter(
    "viewbot_sse_dropped_decisions",
    "Decisions dropped for SSE clients that read too slowly",
    registry=REGISTRY,
)


class _OptionalGauge(Collector):
    """A gauge that is absent from the exposition until it has a value."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value: float | None = None

    def set(self, value: float | None) -> None:
        self.value = None if value is None or math.isnan(value) else float(value)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.value is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=self.value)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


FALSE_POSITIVE_RATE = _OptionalGauge(
    "viewbot_false_positive_rate",
    "Share of reviewed flagged sessions that manual review found legitimate",
)
DETECTION_RECALL = _OptionalGauge(
    "viewbot_detection_recall",
    "Share of sessions manual review found to be viewbots that the engine flagged",
)
REGISTRY.register(FALSE_POSITIVE_RATE)
REGISTRY.register(DETECTION_RECALL)

# Pre-create the known label values so every series exists from the first scrape.
for _topic in INPUT_TOPICS:
    EVENTS_IN.labels(topic=_topic)
for _action in ACTIONS:
    DECISIONS.labels(action=_action)
for _sink in SINKS:
    SINK_BACKLOG.labels(sink=_sink)
    SINK_WRITE_FAILURES.labels(sink=_sink)


def set_review_quality(false_positive_rate: float | None, recall: float | None) -> None:
    """Publish figures computed from ``manual_reviews``; None hides a gauge (no reviews)."""
    FALSE_POSITIVE_RATE.set(false_positive_rate)
    DETECTION_RECALL.set(recall)


def exposition() -> bytes:
    """The Prometheus text format of every metric in the registry."""
    return generate_latest(REGISTRY)


def _by_label(metric: Any, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in metric.collect():
        for sample in family.samples:
            if label in sample.labels and not sample.name.endswith("_created"):
                out[sample.labels[label]] = out.get(sample.labels[label], 0.0) + sample.value
    return out


def _dlq_counts() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for family in DLQ_MESSAGES.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                topic, code = sample.labels["source_topic"], sample.labels["code"]
                out.setdefault(topic, {})[code] = sample.value
    return out


def histogram_quantiles(
    histogram: Histogram, quantiles: tuple[float, ...] = (0.5, 0.95, 0.99)
) -> dict[str, float | None]:
    """Quantiles over the histogram's lifetime, interpolated as ``histogram_quantile`` does.

    Keys are ``p50``, ``p95``...; None while nothing was observed. A quantile in the ``+Inf``
    bucket reports the highest finite bound, like Prometheus.
    """
    buckets: list[tuple[float, float]] = []
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                buckets.append((float(sample.labels["le"]), sample.value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0.0
    out: dict[str, float | None] = {}
    for q in quantiles:
        key = f"p{round(q * 100):d}"
        out[key] = None
        if total == 0:
            continue
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in buckets:
            if count >= rank:
                if math.isinf(bound):
                    out[key] = lower_bound
                else:
                    share = (
                        (rank - lower_count) / (count - lower_count) if count > lower_count else 1
                    )
                    out[key] = lower_bound + (bound - lower_bound) * share
                break
            lower_bound, lower_count = bound, count
    return out


def _value(metric: Any, suffix: str = "") -> float:
    for family in metric.collect():
        for sample in family.samples:
            if sample.name == family.name + suffix:
                return sample.value
    return 0.0


def snapshot() -> dict[str, Any]:
    """The figures of the exposition as JSON-ready data (``GET /api/v1/stats``)."""
    return {
        "events_in": _by_label(EVENTS_IN, "topic"),
        "decisions": _by_label(DECISIONS, "action"),
        "dlq": _dlq_counts(),
        "dlq_replayed": _by_label(DLQ_REPLAYED, "source_topic"),
        "sink_backlog": _by_label(SINK_BACKLOG, "sink"),
        "sink_write_failures": _by_label(SINK_WRITE_FAILURES, "sink"),
        "redis_pending_enforcement": _value(REDIS_PENDING_ENFORCEMENT),
        "last_event_ts": _value(LAST_EVENT_TS) or None,
        "processing_latency": {
            "count": _value(PROCESSING_LATENCY, "_count"),
            "sum": _value(PROCESSING_LATENCY, "_sum"),
            **histogram_quantiles(PROCESSING_LATENCY),
        },
        "api": {"requests": _value(API_REQUESTS, "_total"), "errors": _value(API_ERRORS, "_total")},
        "sse": {"clients": _value(SSE_CLIENTS), "dropped": _value(SSE_DROPPED, "_total")},
        "false_positive_rate": FALSE_POSITIVE_RATE.value,
        "detection_recall": DETECTION_RECALL.value,
    }
