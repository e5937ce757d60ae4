"""Dead-letter records: the raw message, where it came from, and precisely why it was refused."""

from __future__ import annotations

import base64
from typing import Literal

import msgspec

DlqCode = Literal["not_utf8", "not_json", "oversized", "schema", "unknown_topic"]


class DlqRecord(msgspec.Struct, kw_only=True, frozen=True):
    source_topic: str
    code: DlqCode
    reason: str
    raw_b64: str
    raw_size: int
    raw_truncated: bool = False
    partition: int | None = None
    offset: int | None = None
    received_at: float | None = None

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)


_ENCODER = msgspec.json.Encoder(order="deterministic")
_DECODER = msgspec.json.Decoder(DlqRecord)


def make_dlq_record(
    source_topic: str,
    code: DlqCode,
    reason: str,
    raw: bytes,
    *,
    keep_bytes: int,
    partition: int | None = None,
    offset: int | None = None,
    received_at: float | None = None,
) -> DlqRecord:
    """Build a record keeping at most ``keep_bytes`` of the raw message (huge ones are cut)."""
    kept = raw[:keep_bytes]
    return DlqRecord(
        source_topic=source_topic,
        code=code,
        reason=reason,
        raw_b64=base64.b64encode(kept).decode("ascii"),
        raw_size=len(raw),
        raw_truncated=len(kept) < len(raw),
        partition=partition,
        offset=offset,
        received_at=received_at,
    )


def encode_dlq(record: DlqRecord) -> bytes:
    return _ENCODER.encode(record)


def decode_dlq(raw: bytes | str) -> DlqRecord:
    return _DECODER.decode(raw)
