"""POST /api/v1/score: one session's events, validated like Kafka input, scored with the live policy."""

from __future__ import annotations

import pytest
from api_harness import READ, WRITE

from engine.api.routes import ApiOptions

PATH = "/api/v1/score"
T0 = 1_700_000_000.0


def cdn(i: int, session: str = "s-1", **changes) -> dict:
    value = {
        "event_id": f"{session}-cdn-{i}",
        "ts": T0 + 2 * i,
        "session_id": session,
        "channel_id": "c-1",
        "client_ip": "203.0.113.7",
        "asn": 64500,
        "country": "DE",
        "user_agent": "Mozilla/5.0",
        "method": "GET",
        "path": f"/live/c-1/720p60/seg_{i}.ts",
        "status": 200,
        "bytes_sent": 500_000,
        "object_size": 500_000,
        "duration_ms": 120,
        "referer": "",
        "tls_fingerprint": "",
    }
    value.update(changes)
    return {"topic": "cdn-logs", "value": value}


def batch(n: int = 40, session: str = "s-1") -> list[dict]:
    return [cdn(i, session) for i in range(n)]


async def test_scores_a_batch_of_envelopes(api):
    _, body, _ = await api.post(PATH, json=batch(), headers=READ, expect=200)
    assert body["session_id"] == "s-1" and body["events"] == 40
    decision = body["decision"]
    assert decision is not None  # 78 s of event time: past the 30 s first-decision deadline
    assert decision["session_id"] == "s-1" and decision["channel_id"] == "c-1"
    assert 0 <= decision["score"] <= 1
    assert decision["action"] in ("count", "suppress", "challenge", "block")


async def test_flat_events_and_events_wrapper_are_accepted(api):
    flat = [{"topic": e["topic"], **e["value"]} for e in batch()]
    _, a, _ = await api.post(PATH, json=flat, headers=READ, expect=200)
    _, b, _ = await api.post(PATH, json={"events": batch()}, headers=READ, expect=200)
    assert a == b


async def test_live_overrides_apply_and_nothing_is_stored(api, services):
    await api.post(
        "/api/v1/overrides",
        json={"scope": "session", "value": "s-1", "verdict": "block", "reason": "t", "ttl": 10**7},
        headers=WRITE,
        expect=201,
    )
    _, body, _ = await api.post(PATH, json=batch(), headers=READ, expect=200)
    assert body["decision"]["action"] == "block"
    await api.get("/api/v1/sessions/s-1", headers=READ, expect=404)  # no side effects


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"topic": "cdn-logs"}, 'expected a JSON array of events or {"events": [...]}'),
        ([], "the batch has no events"),
        ([1], "events[0]: expected an object, got a number"),
        ([{"topic": "weather", "value": {}}], "events[0]: topic must be one of"),
        ([cdn(0), cdn(1, asn="x")], "events[1]: Expected `int`, got `str` - at `$.asn`"),
        ([cdn(0, client_ip="999.0.0.1")], "is not an IPv4 or IPv6 address"),
        ([cdn(0, ts=None)], "at `$.ts`"),
        (batch(3) + batch(2, session="s-2"), "one session's events, got 2: s-1, s-2"),
    ],
)
async def test_invalid_batches_are_422_with_precise_reasons(api, payload, fragment):
    _, error, _ = await api.post(PATH, json=payload, headers=READ, expect=422)
    assert fragment in error["error"]


async def test_details_list_each_bad_event(api):
    payload = [cdn(0, asn="x"), cdn(1), cdn(2, status=99)]
    _, error, _ = await api.post(PATH, json=payload, headers=READ, expect=422)
    assert error["error"].startswith("2 of 3 events are invalid")
    assert [(d["index"], d["code"]) for d in error["details"]] == [(0, "schema"), (2, "schema")]
    assert "$.status" in error["details"][1]["reason"]


async def test_limits(services, make_client):
    client = await make_client(
        services, options=ApiOptions(max_score_events=10, max_score_bytes=20_000)
    )
    _, error, _ = await client.post(PATH, json=batch(11), headers=READ, expect=422)
    assert error["error"] == "the batch has 11 events; the limit is 10"
    _, error, _ = await client.post(PATH, json=batch(200), headers=READ, expect=413)
    assert "exceeds the 20000-byte limit" in error["error"]


async def test_not_json_is_400(api):
    await api.post(PATH, data=b"\x00\xff", headers=READ, expect=400)
