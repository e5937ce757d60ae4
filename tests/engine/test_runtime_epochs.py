"""Flush epochs: a flush cut short by a crash is undone by the next owner of the partition."""

from __future__ import annotations

from engine.detect import Policy
from engine.runtime import epochs
from engine.runtime.decide import DecisionProcessor, decode_channel_record, decode_session_record
from engine.runtime.envelope import Envelope, Header
from engine.schemas import CdnLog

T0 = 1_700_000_000.0


def _value(partition: int, epoch: int, body: bytes, old: bytes | None = None) -> bytes:
    return epochs.encode_value(partition, T0, epoch, body, old)


def test_a_value_keeps_its_previous_version_but_not_the_one_before() -> None:
    v1 = _value(0, 1, b"one")
    v2 = _value(0, 2, b"two", old=v1)
    v3 = _value(0, 3, b"three", old=v2)
    assert epochs.payload(v3) == b"three"
    assert epochs.header(v3) == (0, T0, 3)
    assert epochs.current_version(v3) == _value(0, 3, b"three")
    assert len(v3) < len(v2) + len(b"three") + epochs.HEADER.size  # no chain of versions


def test_rollback_undoes_only_the_unfinished_epoch_of_that_partition() -> None:
    committed = _value(0, 4, b"kept")
    rewritten = _value(0, 5, b"half", old=_value(0, 3, b"before"))
    created = _value(0, 5, b"new")
    other = _value(1, 9, b"other partition")
    items = [
        ("a", committed),
        ("b", rewritten),
        ("c", created),
        ("d", other),
        (epochs.marker_key(0), epochs.encode_marker(0, 4, 5)),
        ("gone", None),
    ]
    rewrites = epochs.rollback(items, partition=0, committed=4)
    assert set(rewrites) == {"b", "c"}
    assert rewrites["c"] is None  # created by the unfinished flush: deleted
    assert epochs.payload(rewrites["b"]) == b"before"
    assert epochs.header(rewrites["b"])[2] == 3


def test_marker_round_trip_and_default() -> None:
    assert epochs.decode_marker(None) == (0, 0)
    assert epochs.decode_marker(epochs.encode_marker(3, 7, 8)) == (7, 8)
    assert epochs.is_marker(epochs.marker_key(3)) and not epochs.is_marker("channel-7")


def _cdn(i: int, session: str) -> CdnLog:
    return CdnLog(
        event_id=f"{session}-{i}",
        ts=T0 + 2 * i,
        session_id=session,
        channel_id="c-1",
        client_ip="203.0.113.7",
        asn=64500,
        country="DE",
        user_agent="Mozilla/5.0",
        method="GET",
        path=f"/live/c-1/720p60/seg_{i}.ts",
        status=200,
        bytes_sent=500_000,
        object_size=500_000,
        duration_ms=120,
        referer="",
        tls_fingerprint="",
    )


class _Tables:
    """Two dicts standing in for the Faust tables' local stores (no broker involved here)."""

    def __init__(self) -> None:
        self.sessions: dict[str, bytes] = {}
        self.channels: dict[str, bytes] = {}

    def processor(self) -> DecisionProcessor:
        return DecisionProcessor(self.sessions.get, self.channels.get, grace_s=0.0, flush_s=0.0)

    def write(self, table: dict[str, bytes], items: dict[str, bytes | None]) -> None:
        for key, value in items.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value


def _feed(proc: DecisionProcessor, tables: _Tables, first: int, last: int, *, crash=False):
    """Events ``first..last`` of one session through one flush; ``crash`` writes the
    sessions of that flush and nothing else (the channels and the marker are lost)."""
    events = [_cdn(i, "s-1") for i in range(first, last)]
    header = Header(
        source_topic="cdn-logs",
        source_partition=0,
        offsets=list(range(first, last)),
        timestamps=[e.ts for e in events],
        clock=events[-1].ts,
        caught_up=True,
    )
    proc.add(0, ("msg", first), [Envelope(header, events)], now=T0)
    if proc.needs_recovery(0):
        s, c, (key, value) = proc.recovery(0, tables.sessions.items(), tables.channels.items())
        tables.write(tables.sessions, s)
        tables.write(tables.channels, c)
        tables.channels[key] = value
        proc.recovered(0)
    out = proc.run(0, Policy(), now=T0 + 100, everything=True)
    tables.write(tables.sessions, out.sessions)
    if not crash:
        tables.write(tables.channels, out.channels)
        tables.channels[out.marker[0]] = out.marker[1]
    return out


def test_a_restarted_owner_undoes_a_half_written_flush() -> None:
    tables = _Tables()
    first = tables.processor()
    _feed(first, tables, 0, 20)
    good_session = tables.sessions["s-1"]
    good_channel = tables.channels["c-1"]
    _feed(first, tables, 20, 40, crash=True)  # sessions written, channels and marker lost
    assert decode_session_record(tables.sessions["s-1"]).applied["cdn-logs:0"] == 39
    assert decode_channel_record(tables.channels["c-1"]).applied["cdn-logs:0"] == 19

    second = tables.processor()  # the next owner: same stored tables, nothing cached
    _feed(second, tables, 20, 40)  # the unacked events arrive again
    session = decode_session_record(tables.sessions["s-1"])
    channel = decode_channel_record(tables.channels["c-1"])
    assert session.applied["cdn-logs:0"] == channel.applied["cdn-logs:0"] == 39

    # The same as an owner that never crashed.
    clean = _Tables()
    never = clean.processor()
    _feed(never, clean, 0, 20)
    assert clean.sessions["s-1"] == good_session and clean.channels["c-1"] == good_channel
    _feed(never, clean, 20, 40)
    assert decode_session_record(clean.sessions["s-1"]) == session
    assert decode_channel_record(clean.channels["c-1"]) == channel
