"""Turn a raw Kafka message into a typed event, or a DLQ record that says exactly why not."""

from __future__ import annotations

import msgspec

from engine.schemas.dlq import DlqRecord, make_dlq_record
from engine.schemas.events import EVENT_TYPES, BaseEvent

DEFAULT_MAX_MESSAGE_BYTES = 1_048_576

_DECODERS: dict[str, msgspec.json.Decoder] = {
    topic: msgspec.json.Decoder(cls) for topic, cls in EVENT_TYPES.items()
}


def _utf8_reason(raw: bytes) -> str | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8: {exc.reason} at byte {exc.start}"
    return None


def decode_event(
    topic: str,
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    partition: int | None = None,
    offset: int | None = None,
    received_at: float | None = None,
) -> BaseEvent | DlqRecord:
    """Validate ``raw`` as an event of ``topic``; never raises on bad input."""

    def reject(code, reason: str) -> DlqRecord:
        return make_dlq_record(
            topic,
            code,
            reason,
            raw,
            keep_bytes=max_bytes,
            partition=partition,
            offset=offset,
            received_at=received_at,
        )

    decoder = _DECODERS.get(topic)
    if decoder is None:
        return reject("unknown_topic", f"no event schema for topic {topic!r}")
    if raw is None:
        return reject("not_json", "empty message (null value)")
    if len(raw) > max_bytes:
        return reject(
            "oversized", f"message of {len(raw)} bytes exceeds the {max_bytes}-byte limit"
        )
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return reject("schema", str(exc))
    except msgspec.DecodeError as exc:
        utf8 = _utf8_reason(raw)
        if utf8:
            return reject("not_utf8", utf8)
        return reject("not_json", f"invalid JSON: {exc}")
    except UnicodeDecodeError as exc:  # msgspec reports the offset within the string
        return reject("not_utf8", _utf8_reason(raw) or f"not valid UTF-8: {exc.reason}")
    except RecursionError:
        return reject("not_json", "JSON nesting is too deep")
