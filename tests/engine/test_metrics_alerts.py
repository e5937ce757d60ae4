"""infra/prometheus/alerts.yml: the guide's rules, against series the engine really exposes."""

from __future__ import annotations

from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from engine import metrics

PROMETHEUS = Path(__file__).resolve().parents[2] / "infra" / "prometheus"
# The operations guide's rules: name -> (severity, threshold, for)
GUIDE_RULES = {
    "SystemDown": ("critical", 0.0, "1m"),
    "HighFalsePositiveRate": ("critical", 0.05, "5m"),
    "ProcessingLatencyHigh": ("critical", 15.0, "2m"),
    "DetectionAccuracyDrop": ("warning", 0.85, "10m"),
    "HighErrorRate": ("warning", 0.1, "3m"),
}


def rules() -> dict[str, dict]:
    doc = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    found = {}
    for group in doc["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            found[rule["alert"]] = rule
    return found


def selectors(node) -> list:
    """Every VectorSelector in a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, promql_parser.BinaryExpr):
        return selectors(node.lhs) + selectors(node.rhs)
    if isinstance(node, promql_parser.Call):
        return [s for arg in node.args for s in selectors(arg)]
    if isinstance(node, promql_parser.AggregateExpr):
        return selectors(node.expr) + (selectors(node.param) if node.param else [])
    if isinstance(
        node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)
    ):
        return selectors(node.expr)
    return []


def exposed_series() -> set[str]:
    metrics.set_review_quality(0.01, 0.95)  # the review gauges exist once reviews exist
    try:
        text = metrics.exposition().decode()
    finally:
        metrics.set_review_quality(None, None)
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def scrape_jobs() -> set[str]:
    doc = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert "/etc/prometheus/alerts.yml" in doc["rule_files"]
    return {job["job_name"] for job in doc["scrape_configs"]}


def unknown_metrics(expr: str, series: set[str], jobs: set[str]) -> list[str]:
    problems = []
    for selector in selectors(promql_parser.parse(expr)):
        if selector.name == "up":
            job = [m.value for m in selector.matchers.matchers if m.name == "job"]
            if not job or job[0] not in jobs:
                problems.append(f"up{{job={job}}} matches no scrape job")
        elif selector.name not in series:
            problems.append(selector.name)
    return problems


def test_every_guide_rule_is_there_with_its_threshold_and_duration():
    found = rules()
    assert set(found) == set(GUIDE_RULES)
    for name, (severity, threshold, duration) in GUIDE_RULES.items():
        rule = found[name]
        assert rule["labels"]["severity"] == severity
        assert rule["for"] == duration
        assert rule["annotations"]["summary"]
        parsed = promql_parser.parse(rule["expr"])
        assert isinstance(parsed, promql_parser.BinaryExpr)
        assert parsed.rhs.val == threshold


def test_every_metric_the_rules_use_is_exposed():
    series, jobs = exposed_series(), scrape_jobs()
    for name, rule in rules().items():
        assert unknown_metrics(rule["expr"], series, jobs) == [], name


def test_rate_is_only_applied_to_counters_and_buckets():
    for name, rule in rules().items():
        for call in _calls(promql_parser.parse(rule["expr"])):
            if call.func.name == "rate":
                (selector,) = selectors(call.args[0])
                assert selector.name.endswith(("_total", "_bucket")), name


def test_latency_quantile_aggregates_buckets_by_le():
    expr = promql_parser.parse(rules()["ProcessingLatencyHigh"]["expr"])
    quantile = expr.lhs
    assert quantile.func.name == "histogram_quantile" and quantile.args[0].val == 0.95
    aggregate = quantile.args[1]
    assert aggregate.modifier.labels == ["le"]
    assert [s.name for s in selectors(aggregate)] == ["viewbot_processing_latency_bucket"]


@pytest.mark.parametrize(
    "guide_expr",
    [
        "histogram_quantile(0.95, viewbot_processing_latency) > 15",
        "rate(viewbot_api_errors[5m]) > 0.1",
        'up{job="some-other-job"} == 0',
    ],
)
def test_the_check_catches_the_guide_expressions_that_match_nothing(guide_expr):
    assert unknown_metrics(guide_expr, exposed_series(), scrape_jobs()) != []


def _calls(node) -> list:
    out = []
    if isinstance(node, promql_parser.Call):
        out.append(node)
        for arg in node.args:
            out += _calls(arg)
    for attr in ("lhs", "rhs", "expr"):
        child = getattr(node, attr, None)
        if child is not None:
            out += _calls(child)
    return out
