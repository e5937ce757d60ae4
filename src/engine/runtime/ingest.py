"""Ingest: validate one fetched batch of an input partition, split it by channel partition.

Pure logic (no Faust, no I/O), so it is tested on its own; the ingest agent publishes what
:func:`split_batch` returns. Every raw value is validated on its own by one msgspec decode into
the topic's event struct (parse and validation in one pass). The batch is first decoded in one
tight loop; only a batch with a bad value takes the slow path, where each value goes through
``engine.schemas.decode_event`` and a refusal becomes a DLQ record with the precise reason and
the message's source partition and offset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from engine.runtime.envelope import Header, encode_envelope
from engine.schemas import EVENT_TYPES, CdnLog, DlqRecord, decode_event, encode_dlq, make_dlq_record

# An envelope is cut once its events pass this size, so it stays well below the broker's
# message limit (1 MiB by default) however large the fetched batch.
ENVELOPE_MAX_BYTES = 256 * 1024
# A DLQ record keeps at most this much of the refused message (base64 inside JSON), so it fits
# a broker's default 1 MiB message limit whatever VBG_MAX_MESSAGE_BYTES allows.
DLQ_KEEP_BYTES = 256 * 1024

_DECODERS = {topic: msgspec.json.Decoder(cls) for topic, cls in EVENT_TYPES.items()}


@dataclass
class SplitBatch:
    """What one input batch turned into."""

    envelopes: list[tuple[int, bytes]] = field(default_factory=list)  # (channel partition, env)
    dlq: list[tuple[bytes | None, bytes, DlqRecord]] = field(default_factory=list)  # key, value
    sampled: list[CdnLog] = field(default_factory=list)  # lines for raw_cdn_log
    valid: int = 0
    newest_ts: float = 0.0


def _decode_all(topic: str, records: Sequence[Any], max_bytes: int) -> list[Any] | None:
    """Every record decoded, or None if any is not a valid event (then go one by one)."""
    decode = _DECODERS[topic].decode
    try:
        events = [decode(r.value) for r in records]
    except (msgspec.DecodeError, ValueError, TypeError):
        return None
    if any(len(r.value) > max_bytes for r in records):
        return None
    return events


def _cut(record: DlqRecord, raw: bytes) -> DlqRecord:
    return make_dlq_record(
        record.source_topic,
        record.code,
        record.reason,
        raw or b"",
        keep_bytes=DLQ_KEEP_BYTES,
        partition=record.partition,
        offset=record.offset,
        received_at=record.received_at,
    )


def _stamp(timestamp: int | None, received: float) -> float:
    return timestamp / 1000.0 if timestamp is not None else received


def _pieces(records: Sequence[Any], members: Sequence[int]) -> list[Sequence[int]]:
    """``members`` (indexes into ``records``) cut where an envelope passes its size limit;
    always at least one piece, empty or not."""
    total = 0
    for i in members:
        total += len(records[i].value)
    if total <= ENVELOPE_MAX_BYTES:
        return [members]
    pieces: list[Sequence[int]] = []
    piece: list[int] = []
    size = 0
    for i in members:
        if size > ENVELOPE_MAX_BYTES:
            pieces.append(piece)
            piece, size = [], 0
        piece.append(i)
        size += len(records[i].value)
    pieces.append(piece)
    return pieces


def split_batch(
    topic: str,
    partition: int,
    records: Sequence[Any],
    partition_of: Callable[[str], int],
    *,
    max_bytes: int,
    partitions: int,
    caught_up: bool = True,
    sample: Callable[[str], bool] | None = None,
) -> SplitBatch:
    """Validate ``records`` (aiokafka ConsumerRecords of ``topic``/``partition``).

    Every one of the ``partitions`` channel partitions gets an envelope, empty or not, so each
    learns how far this source got (``Header.clock``, ``Header.caught_up``).
    ``sample(session_id)`` picks CDN lines for the raw log (only used for ``cdn-logs``).
    """
    out = SplitBatch()
    received = time.time()
    events = _decode_all(topic, records, max_bytes) if topic in _DECODERS else None
    if events is None:
        events = []
        for record in records:
            event = decode_event(
                topic,
                record.value,
                max_bytes=max_bytes,
                partition=partition,
                offset=record.offset,
                received_at=received,
            )
            if type(event) is DlqRecord:
                if event.raw_size > DLQ_KEEP_BYTES:
                    event = _cut(event, record.value)
                out.dlq.append((record.key, encode_dlq(event), event))
                events.append(None)
            else:
                events.append(event)
    # One tight pass picks each valid event's channel partition (records stay in offset
    # order within a partition); headers and payloads are then built per partition with list
    # comprehensions. Per event this is about half the cost of building them record by record.
    targets: dict[int, list[int]] = {}
    cache: dict[str, int] = {}
    newest = 0.0
    for i, event in enumerate(events):
        if event is None:
            continue
        channel = event.channel_id
        target = cache.get(channel)
        if target is None:
            target = cache[channel] = partition_of(channel)
        members = targets.get(target)
        if members is None:
            targets[target] = [i]
        else:
            members.append(i)
        if event.ts > newest:
            newest = event.ts
    valid = sum(map(len, targets.values()))
    if sample is not None and topic == CdnLog.TOPIC:
        out.sampled = [e for e in events if e is not None and sample(e.session_id)]
    out.valid = valid
    out.newest_ts = newest
    clock = newest if valid else float("-inf")
    for target in range(partitions):
        pieces = _pieces(records, targets.get(target, ()))
        for n, piece in enumerate(pieces, 1):
            # a piece followed by more of this batch tells nothing of the source's progress
            last = n == len(pieces)
            header = Header(
                topic,
                partition,
                [records[i].offset for i in piece],
                [_stamp(records[i].timestamp, received) for i in piece],
                clock if last else float("-inf"),
                caught_up if last else False,
            )
            out.envelopes.append(
                (target, encode_envelope(header, [records[i].value for i in piece]))
            )
    return out
