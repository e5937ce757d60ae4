"""JSON in and out of the API: response encoding and validation of request payloads.

Validation raises :class:`Invalid` with a message precise enough to fix the request (the
guard turns it into ``422 {"error": ...}``). Thresholds and overrides are the detection core's
own types, so the API accepts exactly what the engine can apply.
"""

from __future__ import annotations

import ipaddress
import math
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from aiohttp import web

from engine.detect import Override, Thresholds
from engine.detect.netaddr import canonical_ip, subnet_of
from engine.schemas import ACTIONS, EVENT_TYPES, BaseEvent, DlqRecord, decode_event

OVERRIDE_SCOPES = ("session", "ip", "subnet24", "asn", "channel")
OVERRIDE_VERDICTS = ("allow", "block")
MAX_TTL_S = 365 * 24 * 3600
MAX_REASON_CHARS = 500
MAX_VALUE_CHARS = 256
MAX_ERROR_DETAILS = 20


class Invalid(ValueError):
    """The request is well-formed JSON but its content is not acceptable (HTTP 422)."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


_ENCODER = msgspec.json.Encoder(decimal_format="number", enc_hook=_enc_hook)


def encode_json(data: Any) -> bytes:
    """JSON bytes for anything the engine returns (structs, datetimes, decimals, UUIDs)."""
    return _ENCODER.encode(data)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=encode_json(data),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid(f"{what} must be a JSON object, got {_kind(data)}")
    return data


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _unit_float(data: Mapping[str, Any], name: str) -> float:
    if name not in data:
        raise Invalid(f"{name} is required")
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{name} must be a number, got {_kind(value)}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise Invalid(f"{name} must be between 0 and 1, got {value}")
    return value


def decode_thresholds(data: Any) -> Thresholds:
    """A complete threshold set; the core's own ordering rule decides what is valid."""
    body = _object(data, "thresholds")
    unknown = sorted(set(body) - {"suppress", "challenge", "block"})
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}")
    values = {name: _unit_float(body, name) for name in ("suppress", "challenge", "block")}
    thresholds = Thresholds(**values)
    try:
        thresholds.validate()
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return thresholds


def _text(body: Mapping[str, Any], name: str, max_chars: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} is required and must be a non-empty string")
    value = value.strip()
    if len(value) > max_chars:
        raise Invalid(f"{name} is longer than {max_chars} characters")
    if any(not ch.isprintable() for ch in value):
        raise Invalid(f"{name} contains control characters")
    return value


def _override_value(scope: str, raw: Any) -> str:
    """Normalise the target so equal targets compare equal (``10.1.2.77/24`` → ``10.1.2.0/24``)."""
    if scope == "asn":
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        text = raw.strip().upper().removeprefix("AS") if isinstance(raw, str) else ""
        if not text.isdigit() or int(text) > 4_294_967_295:
            raise Invalid(f"value {raw!r} is not an AS number (0..4294967295)")
        return str(int(text))
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("value is required and must be a non-empty string")
    text = raw.strip()
    if len(text) > MAX_VALUE_CHARS:
        raise Invalid(f"value is longer than {MAX_VALUE_CHARS} characters")
    if scope in ("ip", "subnet24"):
        address, _, stated = text.partition("/")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise Invalid(f"value {text!r} is not an IPv4 or IPv6 address") from None
        if scope == "ip":
            if stated:
                raise Invalid(f"value {text!r}: an ip override takes one address, not a network")
            return canonical_ip(str(ip))
        prefix = "24" if ip.version == 4 else "48"
        if stated and stated != prefix:
            raise Invalid(f"value {text!r}: subnet24 overrides cover a /{prefix} network")
        return subnet_of(str(ip))
    if not text.isprintable():
        raise Invalid(f"value {text!r} contains control characters")
    return text


def decode_override(data: Any, actor: str, now: float) -> Override:
    """A new override from ``{scope, value, verdict, reason, ttl}`` (ttl in seconds)."""
    body = _object(data, "override")
    unknown = sorted(set(body) - {"scope", "value", "verdict", "reason", "ttl"})
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}")
    scope = body.get("scope")
    if scope not in OVERRIDE_SCOPES:
        raise Invalid(f"scope must be one of {', '.join(OVERRIDE_SCOPES)}, got {scope!r}")
    verdict = body.get("verdict")
    if verdict not in OVERRIDE_VERDICTS:
        raise Invalid(f"verdict must be allow or block, got {verdict!r}")
    ttl = body.get("ttl")
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl):
        raise Invalid("ttl is required: the override's lifetime in seconds")
    if not 1 <= ttl <= MAX_TTL_S:
        raise Invalid(f"ttl must be between 1 and {MAX_TTL_S} seconds, got {ttl}")
    return Override(
        override_id=uuid.uuid4().hex,
        scope=scope,
        value=_override_value(scope, body.get("value")),
        verdict=verdict,
        reason=_text(body, "reason", MAX_REASON_CHARS),
        created_by=actor,
        created_at=now,
        expires_at=now + float(ttl),
    )


def decode_score_batch(data: Any, *, max_events: int, max_event_bytes: int) -> list[BaseEvent]:
    """One session's events from ``[...]`` or ``{"events": [...]}``.

    Items are envelopes ``{"topic", "value"}`` or flat events carrying a ``topic`` field. They go
    through the same decoder as Kafka messages, so the reasons match what the DLQ would say.
    """
    items = data.get("events") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise Invalid('expected a JSON array of events or {"events": [...]}')
    if not items:
        raise Invalid("the batch has no events")
    if len(items) > max_events:
        raise Invalid(f"the batch has {len(items)} events; the limit is {max_events}")
    events: list[BaseEvent] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        topic, value = _envelope(item)
        if topic is None:
            problems.append({"index": index, "code": "envelope", "reason": value})
            continue
        result = decode_event(topic, encode_json(value), max_bytes=max_event_bytes)
        if isinstance(result, DlqRecord):
            problems.append(
                {"index": index, "topic": topic, "code": result.code, "reason": result.reason}
            )
        else:
            events.append(result)
    if problems:
        shown = problems[:MAX_ERROR_DETAILS]
        raise Invalid(
            f"{len(problems)} of {len(items)} events are invalid; first: "
            f"events[{shown[0]['index']}]: {shown[0]['reason']}",
            details=shown,
        )
    sessions = sorted({event.session_id for event in events})
    if len(sessions) > 1:
        listed = ", ".join(sessions[:5]) + (" ..." if len(sessions) > 5 else "")
        raise Invalid(f"a batch must hold one session's events, got {len(sessions)}: {listed}")
    return sorted(events, key=lambda event: event.ts)


def _envelope(item: Any) -> tuple[str | None, Any]:
    if not isinstance(item, dict):
        return None, f"expected an object, got {_kind(item)}"
    topic = item.get("topic")
    if topic not in EVENT_TYPES:
        return None, f"topic must be one of {', '.join(EVENT_TYPES)}, got {topic!r}"
    if "value" in item:
        return topic, item["value"]
    return topic, {k: v for k, v in item.items() if k != "topic"}


def parse_unit_param(query: Mapping[str, str], name: str) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise Invalid(f"{name} must be a number between 0 and 1, got {raw!r}")
    return value


def parse_actions(query: Mapping[str, str]) -> frozenset[str] | None:
    """``action=block,challenge`` (or repeated ``action=``) → a set; None means every action."""
    raws = query.getall("action", []) if hasattr(query, "getall") else [query.get("action", "")]
    actions = {a.strip() for raw in raws for a in raw.split(",") if a.strip()}
    unknown = sorted(actions - set(ACTIONS))
    if unknown:
        raise Invalid(f"action must be one of {', '.join(ACTIONS)}, got {', '.join(unknown)}")
    return frozenset(actions) or None
