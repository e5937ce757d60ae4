"""Schema validation on good, bad and hostile messages; the DLQ reason is precise."""

from __future__ import annotations

import json

import pytest

from engine.schemas import (
    CdnLog,
    ChallengeResult,
    ChatEvent,
    Decision,
    DlqRecord,
    PlayerEvent,
    decision_id,
    decode_decision,
    decode_dlq,
    decode_event,
    encode_decision,
    encode_dlq,
    encode_event,
)

BASE = {"event_id": "e1", "ts": 1_700_000_000.25, "session_id": "s1", "channel_id": "c1"}
GOOD = {
    "cdn-logs": {
        **BASE,
        "client_ip": "203.0.113.7",
        "asn": 64500,
        "country": "de",
        "user_agent": "Mozilla/5.0",
        "method": "GET",
        "path": "/live/c1/720p/seg_10.ts",
        "status": 200,
        "bytes_sent": 1000,
        "object_size": 1000,
        "duration_ms": 40,
        "referer": "",
        "tls_fingerprint": "t13d1516h2_8daaf6152771_02713d6af862",
    },
    "player-events": {
        **BASE,
        "type": "heartbeat",
        "position_s": 12.5,
        "visible": True,
        "muted": False,
        "rendition": "720p60",
        "viewport_w": 1280,
        "viewport_h": 720,
    },
    "chat-events": {**BASE, "user_id": "u1", "type": "message", "text_len": 12},
    "challenge-results": {**BASE, "passed": False, "error": "timeout"},
}
TYPES = {
    "cdn-logs": CdnLog,
    "player-events": PlayerEvent,
    "chat-events": ChatEvent,
    "challenge-results": ChallengeResult,
}


def _raw(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize("topic", sorted(GOOD))
def test_good_events_decode_to_their_type(topic: str) -> None:
    event = decode_event(topic, _raw(GOOD[topic]))
    assert isinstance(event, TYPES[topic])
    assert event.TOPIC == topic
    assert event.ts == BASE["ts"]


def test_unknown_fields_are_ignored_and_country_normalised() -> None:
    event = decode_event("cdn-logs", _raw({**GOOD["cdn-logs"], "extra": {"nested": [1]}}))
    assert isinstance(event, CdnLog)
    assert event.country == "DE"
    assert not hasattr(event, "extra")


def test_ipv6_client_ip_accepted() -> None:
    event = decode_event("cdn-logs", _raw({**GOOD["cdn-logs"], "client_ip": "2001:db8::1"}))
    assert isinstance(event, CdnLog)


def test_optional_fields_default_empty() -> None:
    value = {k: v for k, v in GOOD["cdn-logs"].items() if k not in ("referer", "tls_fingerprint")}
    event = decode_event("cdn-logs", _raw(value))
    assert isinstance(event, CdnLog) and event.referer == "" and event.tls_fingerprint == ""


def test_encode_roundtrip() -> None:
    event = decode_event("player-events", _raw(GOOD["player-events"]))
    assert decode_event("player-events", encode_event(event)) == event


def _reject(topic: str, raw: bytes, **kw) -> DlqRecord:
    result = decode_event(topic, raw, **kw)
    assert isinstance(result, DlqRecord), result
    assert result.source_topic == topic
    return result


@pytest.mark.parametrize(
    ("topic", "patch", "reason"),
    [
        ("cdn-logs", {"asn": "64500"}, "Expected `int`, got `str` - at `$.asn`"),
        ("cdn-logs", {"status": 700}, "Expected `int` <= 599 - at `$.status`"),
        ("cdn-logs", {"client_ip": "999.1.1.1"}, "client_ip '999.1.1.1' is not an IPv4 or IPv6"),
        ("cdn-logs", {"country": "DEU"}, "at `$.country`"),
        ("cdn-logs", {"country": "D1"}, "country 'D1' is not a two-letter code"),
        ("cdn-logs", {"country": "12"}, "country '12' is not a two-letter code"),
        ("cdn-logs", {"country": "äö"}, "country 'ÄÖ' is not a two-letter code"),
        ("cdn-logs", {"bytes_sent": -1}, "Expected `int` >= 0 - at `$.bytes_sent`"),
        ("player-events", {"type": "rewind"}, "Invalid enum value 'rewind' - at `$.type`"),
        ("player-events", {"visible": 1}, "Expected `bool`, got `int` - at `$.visible`"),
        ("player-events", {"ts": "yesterday"}, "Expected `float`, got `str` - at `$.ts`"),
        ("player-events", {"ts": -5}, "Expected `float` >= 0.0 - at `$.ts`"),
        ("chat-events", {"session_id": ""}, "at `$.session_id`"),
        ("challenge-results", {"passed": "yes"}, "Expected `bool`, got `str` - at `$.passed`"),
    ],
)
def test_wrong_types_and_values_give_precise_reason(topic: str, patch: dict, reason: str) -> None:
    record = _reject(topic, _raw({**GOOD[topic], **patch}))
    assert record.code == "schema"
    assert reason in record.reason


@pytest.mark.parametrize("field", ["event_id", "ts", "session_id", "channel_id", "asn", "path"])
def test_missing_required_field_is_named(field: str) -> None:
    value = {k: v for k, v in GOOD["cdn-logs"].items() if k != field}
    record = _reject("cdn-logs", _raw(value))
    assert record.code == "schema"
    assert record.reason == f"Object missing required field `{field}`"


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (b"not json at all", "not_json", "invalid JSON: JSON is malformed"),
        (b'{"event_id": "e1", ', "not_json", "invalid JSON: Input data was truncated"),
        (b"", "not_json", "invalid JSON"),
        (b"[1, 2, 3]", "schema", "Expected `object`, got `array`"),
        (b"null", "schema", "Expected `object`, got `null`"),
        (b'{"event_id": "\xff\xfe"}', "not_utf8", "not valid UTF-8: invalid start byte at byte 14"),
        (b"\xff\xfe{}", "not_utf8", "not valid UTF-8: invalid start byte at byte 0"),
        (b'{"ts": 1e999}', "schema", "Number out of range - at `$.ts`"),
    ],
)
def test_hostile_messages(raw: bytes, code: str, reason: str) -> None:
    record = _reject("chat-events", raw)
    assert record.code == code
    assert reason in record.reason
    assert record.raw == raw


def test_oversized_message_is_refused_and_truncated_in_dlq() -> None:
    value = {**GOOD["chat-events"], "padding": "x" * 5000}
    raw = _raw(value)
    record = _reject("chat-events", raw, max_bytes=1024)
    assert record.code == "oversized"
    assert record.reason == f"message of {len(raw)} bytes exceeds the 1024-byte limit"
    assert record.raw_size == len(raw)
    assert record.raw_truncated and record.raw == raw[:1024]


def test_deeply_nested_payload_does_not_crash() -> None:
    raw = b'{"x":' * 5000 + b"1" + b"}" * 5000
    record = _reject("chat-events", raw)
    assert record.code in ("schema", "not_json")


def test_unknown_topic() -> None:
    record = _reject("weather", b"{}")
    assert record.code == "unknown_topic"
    assert "weather" in record.reason


def test_dlq_record_roundtrip_keeps_raw_bytes_and_origin() -> None:
    record = _reject("cdn-logs", b"\x00\x01garbage", partition=3, offset=42, received_at=5.0)
    back = decode_dlq(encode_dlq(record))
    assert back == record
    assert back.raw == b"\x00\x01garbage"
    assert (back.partition, back.offset) == (3, 42)


def test_decision_ids_are_deterministic_and_distinct() -> None:
    assert decision_id("s1", 1) == decision_id("s1", 1)
    assert decision_id("s1", 1) != decision_id("s1", 2)
    assert decision_id("s1", 12) != decision_id("s11", 2)


def test_decision_encoding_is_canonical() -> None:
    kwargs = dict(
        decision_id=decision_id("s1", 1),
        ts=10.0,
        decided_at=10.0,
        session_id="s1",
        channel_id="c1",
        score=0.75,
        action="challenge",
        reasons=("playlist_only", "hosting_asn"),
        rule_version="test",
    )
    a = Decision(features={"b": 1.0, "a": 2.0}, **kwargs)
    b = Decision(features={"a": 2.0, "b": 1.0}, **kwargs)
    assert encode_decision(a) == encode_decision(b)
    assert decode_decision(encode_decision(a)) == a
