"""Flush epochs: a channel partition's session and channel states change together or not at all.

One flush of a partition writes many keys to two changelog topics; Kafka makes no write of
several records atomic without transactions, so a ``kill -9`` mid-flush can leave, say, the
sessions written and the channels not. Re-applying events to such a half-written pair gives the
channel a context that differs from the original run, and so, now and then, a different
decision. Epochs make the pair consistent again on recovery:

- Every stored value carries the epoch of the flush that wrote it and the previous version of
  itself (from an earlier, committed flush).
- A marker per partition (a key of the channels table) records ``committed`` (the last epoch
  whose every value is durable) and ``reserved`` (the epoch the next flush may use). Flush ``e``
  writes its values, awaits them, then writes the marker ``(e, e + 1)`` and awaits it: at most
  the reserved epoch can be half-written.
- The next owner of the partition (after a crash or a rebalance) rolls every value of an epoch
  newer than ``committed`` back to its previous version (or deletes it) before it applies
  anything. The input messages those values accounted for were never acked, so they are
  applied again, in the same order, from a consistent pair.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

# partition, newest event time of the state, epoch, length of the previous version
HEADER = struct.Struct(">HdII")
MARKER = struct.Struct(">HII")  # partition, committed, reserved
MARKER_PREFIX = "\x00epoch:"


def marker_key(partition: int) -> str:
    return f"{MARKER_PREFIX}{partition}"


def is_marker(key: str) -> bool:
    return key.startswith(MARKER_PREFIX)


def encode_marker(partition: int, committed: int, reserved: int) -> bytes:
    return MARKER.pack(partition, committed, reserved)


def decode_marker(raw: bytes | None) -> tuple[int, int]:
    """(committed, reserved); a partition never flushed is at (0, 0)."""
    if not raw:
        return 0, 0
    _, committed, reserved = MARKER.unpack_from(raw)
    return committed, reserved


def encode_value(
    partition: int, last_ts: float, epoch: int, payload: bytes, old: bytes | None
) -> bytes:
    """A stored value; ``old`` is the key's stored value before this flush (None: new key)."""
    prev = b"" if old is None else current_version(old)
    return HEADER.pack(partition, last_ts, epoch, len(prev)) + prev + payload


def current_version(raw: bytes) -> bytes:
    """``raw`` without its previous version (what a later write keeps as *its* previous)."""
    partition, last_ts, epoch, prev_len = HEADER.unpack_from(raw)
    return HEADER.pack(partition, last_ts, epoch, 0) + raw[HEADER.size + prev_len :]


def payload(raw: bytes) -> bytes:
    return raw[HEADER.size + HEADER.unpack_from(raw)[3] :]


def header(raw: bytes) -> tuple[int, float, int]:
    """(partition, newest event time, epoch) of a stored value."""
    partition, last_ts, epoch, _ = HEADER.unpack_from(raw)
    return partition, last_ts, epoch


def rollback(
    items: Iterable[tuple[str, bytes | None]], partition: int, committed: int
) -> dict[str, bytes | None]:
    """Rewrites that take ``partition``'s values back to epoch ``committed``: a value written
    by a later (unfinished) flush becomes its previous version, or is deleted if it had none."""
    rewrites: dict[str, bytes | None] = {}
    for key, raw in items:
        if raw is None or is_marker(key):
            continue
        owner, _, epoch, prev_len = HEADER.unpack_from(raw)
        if owner != partition or epoch <= committed:
            continue
        rewrites[key] = raw[HEADER.size : HEADER.size + prev_len] if prev_len else None
    return rewrites
