"""Bearer tokens: 401 for missing/bad tokens, 403 for the wrong scope, writes refused without tokens."""

from __future__ import annotations

import pytest
from api_harness import READ, READ_TOKEN, WRITE, WRITE_TOKEN

from engine.api.auth import fingerprint

THRESHOLDS = {"suppress": 0.4, "challenge": 0.6, "block": 0.9}
READ_ENDPOINTS = [
    "/api/v1/stats",
    "/api/v1/config/thresholds",
    "/api/v1/overrides",
    "/api/v1/sessions/some-session",
    "/api/v1/decisions/stream",
    "/api/v1/analytics/summary",
]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
async def test_reads_without_a_token_are_401_with_a_bearer_challenge(api, path):
    _status, body, headers = await api.get(path, expect=401)
    assert body["error"] == "missing bearer token"
    assert headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header, message",
    [
        ("Bearer not-a-valid-token", "invalid bearer token"),
        (f"Basic {READ_TOKEN}", "malformed Authorization header"),
        ("Bearer", "malformed Authorization header"),
        (f"Bearer {READ_TOKEN}x", "invalid bearer token"),
    ],
)
async def test_bad_tokens_are_401(api, header, message):
    _, body, _ = await api.get("/api/v1/stats", headers={"Authorization": header}, expect=401)
    assert body["error"].startswith(message)


async def test_read_token_reads_but_cannot_write(api, services):
    await api.get("/api/v1/config/thresholds", headers=READ, expect=200)
    _, body, _ = await api.put(
        "/api/v1/config/thresholds", json=THRESHOLDS, headers=READ, expect=403
    )
    assert "write scope is required" in body["error"]
    await api.post("/api/v1/overrides", json={}, headers=READ, expect=403)
    await api.delete("/api/v1/overrides/abc", headers=READ, expect=403)
    await api.post("/api/v1/dlq/replay", headers=READ, expect=403)
    assert services.audit == []  # nothing reached the engine


async def test_write_token_implies_read_and_is_audited_by_fingerprint(api, services):
    await api.get("/api/v1/stats", headers=WRITE, expect=200)
    await api.put(
        "/api/v1/config/thresholds",
        json=THRESHOLDS,
        headers={**WRITE, "X-VBG-Actor": "alice"},
        expect=200,
    )
    assert services.audit == [("thresholds", f"alice ({fingerprint(WRITE_TOKEN)})")]
    assert WRITE_TOKEN not in services.audit[0][1]


async def test_auth_is_checked_before_the_body_is_read(api):
    # An unauthenticated caller learns nothing about body validation.
    _, body, _ = await api.put("/api/v1/config/thresholds", data=b"{not json", expect=401)
    assert body["error"] == "missing bearer token"


async def test_health_and_metrics_are_open(api):
    await api.get("/api/v1/health", expect=200)
    await api.get("/metrics", expect=200)


async def test_without_tokens_reads_are_open_and_writes_refused(services, make_client):
    client = await make_client(services, tokens=())
    await client.get("/api/v1/config/thresholds", expect=200)
    await client.get("/api/v1/stats", headers={"Authorization": "Bearer anything"}, expect=200)
    _, body, _ = await client.put(
        "/api/v1/config/thresholds", json=THRESHOLDS, headers=WRITE, expect=403
    )
    assert "no API tokens are configured" in body["error"]
    await client.post("/api/v1/dlq/replay", expect=403)
    assert services.audit == []
