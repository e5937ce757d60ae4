"""Replay a file of event envelopes through the detection core (DESIGN §4 ``vbg-engine replay``).

Input and output are streamed: memory follows the sessions the detector holds, not the file.
Every decision is one canonical JSON line with ``decided_at == ts``, so two runs over the same
input write the same bytes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import msgspec

from engine.detect import Detector, Policy
from engine.schemas import DlqRecord, decode_event, encode_decision

MAX_LISTED_ERRORS = 20
PROGRESS_EVERY_S = 10.0
_CHECK_EVERY_LINES = 65536


class Envelope(msgspec.Struct):
    topic: str
    value: msgspec.Raw


_ENVELOPE = msgspec.json.Decoder(Envelope)


@dataclass
class ReplayStats:
    lines: int = 0
    events: int = 0
    decisions: int = 0
    malformed: int = 0
    malformed_by_code: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


def replay_stream(
    source: BinaryIO,
    sink: BinaryIO,
    policy: Policy,
    *,
    on_malformed: Callable[[int, str, str], None] | None = None,
    on_progress: Callable[[ReplayStats], None] | None = None,
) -> ReplayStats:
    """Feed every envelope line of ``source`` to a :class:`Detector`; write decisions to ``sink``.

    A malformed line (bad JSON, unknown topic, schema failure) is counted and passed to
    ``on_malformed(line_number, code, reason)``; it never stops the run. Blank lines are skipped.
    """
    stats = ReplayStats()
    detector = Detector(policy)
    process = detector.process
    decode_envelope = _ENVELOPE.decode
    encode = encode_decision
    write = sink.write
    started = time.perf_counter()
    next_progress = started + PROGRESS_EVERY_S
    lineno = 0
    for line in source:
        lineno += 1
        if not line.strip():
            continue
        try:
            envelope = decode_envelope(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            _malformed(stats, on_malformed, lineno, "envelope", f"not an event envelope: {exc}")
            continue
        event = decode_event(envelope.topic, bytes(envelope.value))
        if type(event) is DlqRecord:
            _malformed(stats, on_malformed, lineno, event.code, event.reason)
            continue
        stats.events += 1
        decision = process(event)
        if decision is not None:
            write(encode(decision) + b"\n")
            stats.decisions += 1
        if on_progress is not None and not lineno % _CHECK_EVERY_LINES:
            now = time.perf_counter()
            if now >= next_progress:
                stats.lines = lineno
                stats.seconds = now - started
                on_progress(stats)
                next_progress = now + PROGRESS_EVERY_S
    stats.lines = lineno
    stats.seconds = time.perf_counter() - started
    return stats


def _malformed(
    stats: ReplayStats,
    callback: Callable[[int, str, str], None] | None,
    lineno: int,
    code: str,
    reason: str,
) -> None:
    stats.malformed += 1
    stats.malformed_by_code[code] += 1
    if callback is not None:
        callback(lineno, code, reason)
