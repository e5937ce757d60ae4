"""Health, /metrics, /stats, and the error guarantees every endpoint shares."""

from __future__ import annotations

import asyncio
import logging

from api_harness import READ, READ_TOKEN, WRITE, WRITE_TOKEN, RedisServices
from prometheus_client.parser import text_string_to_metric_families

from engine import metrics
from engine.api.routes import ApiOptions


def api_errors() -> float:
    return metrics.snapshot()["api"]["errors"]


async def test_health_ok(api):
    _, body, _ = await api.get("/api/v1/health", expect=200)
    assert body["status"] == "ok"
    assert set(body["components"]) == {"kafka", "clickhouse", "redis", "worker"}
    assert body["components"]["redis"]["status"] == "ok"


async def test_health_degraded_when_redis_is_unreachable(make_client):
    from engine.localstack.ports import free_port

    services = RedisServices(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        client = await make_client(services)
        _, body, _ = await client.get("/api/v1/health", expect=200)
        assert body["status"] == "degraded"
        assert body["components"]["redis"]["status"] == "down"
        assert body["components"]["redis"]["detail"] == "ConnectionError"
    finally:
        await services.close()


async def test_health_down_is_503(api, services):
    services.kafka_status = "down"
    _, body, _ = await api.get("/api/v1/health", expect=503)
    assert body["status"] == "down"
    assert body["error"] == "engine is down: kafka down"
    assert body["components"]["redis"]["status"] == "ok"


async def test_health_that_hangs_is_503_not_a_hang(services, make_client):
    async def hang():
        await asyncio.sleep(3600)

    services.health = hang
    client = await make_client(services, options=ApiOptions(health_timeout_s=0.2))
    _, body, _ = await client.get("/api/v1/health", expect=503)
    assert body == {"status": "down", "components": {}, "error": "health check timed out"}


async def test_metrics_exposition_parses_and_has_the_guide_names(api):
    _status, text, headers = await api.get("/metrics", expect=200)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["viewbot_processing_latency"].type == "histogram"
    assert families["viewbot_api_errors"].type == "counter"
    topics = {s.labels["topic"] for s in families["viewbot_events_in"].samples}
    assert topics == {"cdn-logs", "player-events", "chat-events", "challenge-results"}
    actions = {s.labels["action"] for s in families["viewbot_decisions"].samples}
    assert actions == {"count", "suppress", "challenge", "block"}
    sinks = {s.labels["sink"] for s in families["viewbot_sink_backlog"].samples}
    assert {"clickhouse", "redis"} <= sinks


async def test_every_error_response_counts_as_an_api_error(api):
    before = api_errors()
    await api.get("/api/v1/stats", expect=401)
    await api.put("/api/v1/config/thresholds", json={}, headers=READ, expect=403)
    await api.get("/api/v1/sessions/nobody", headers=READ, expect=404)
    await api.get("/api/v1/health", expect=200)
    assert api_errors() == before + 3
    _, text, _ = await api.get("/metrics", expect=200)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    exposed = next(s.value for s in families["viewbot_api_errors"].samples)
    assert exposed == before + 3


async def test_stats_is_the_metrics_snapshot(api):
    metrics.EVENTS_IN.labels(topic="chat-events").inc(7)
    _, body, _ = await api.get("/api/v1/stats", headers=READ, expect=200)
    assert body["events_in"]["chat-events"] == metrics.snapshot()["events_in"]["chat-events"]
    assert body["events_in"]["chat-events"] >= 7
    assert set(body["decisions"]) == {"count", "suppress", "challenge", "block"}


async def test_unexpected_exception_is_500_without_traceback_or_token(api, services, caplog):
    services.fail_with = RuntimeError(f"boom with {READ_TOKEN} and {WRITE_TOKEN} inside")
    with caplog.at_level(logging.ERROR, logger="engine.api"):
        _, body, _ = await api.get("/api/v1/stats", headers=READ, expect=500)
    assert body == {"error": "internal error"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError: boom with *** and *** inside" in logged
    assert READ_TOKEN not in logged and WRITE_TOKEN not in logged


async def test_wrong_method_is_405_with_allow(api):
    _, _, headers = await api.post("/api/v1/health", expect=405)
    assert headers["Allow"] == "GET"
    _, _body, headers = await api.request("PATCH", "/api/v1/overrides", headers=WRITE, expect=405)
    assert headers["Allow"] == "DELETE, GET, POST"


async def test_unknown_api_path_is_json_404(api):
    _, body, _ = await api.get("/api/v1/nothing/here", expect=404)
    assert body["error"] == "no API endpoint at /api/v1/nothing/here"
