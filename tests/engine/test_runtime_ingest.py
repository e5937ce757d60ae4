"""Ingest's split of one fetched batch: envelopes per channel partition, progress for every
partition, bad records to the DLQ with their offsets, and nothing reordered."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from engine.runtime import ingest
from engine.runtime.envelope import ChannelPartitioner, decode_envelope
from engine.runtime.ingest import split_batch
from engine.schemas import decode_dlq

PARTS = 4
partition_of = ChannelPartitioner(PARTS)


def _cdn(i: int, channel: str, ts: float, **patch: Any) -> bytes:
    value = {
        "event_id": f"e{i}",
        "ts": ts,
        "session_id": f"s{i % 7}",
        "channel_id": channel,
        "client_ip": "203.0.113.7",
        "asn": 64500,
        "country": "de",
        "user_agent": "Mozilla/5.0",
        "method": "GET",
        "path": f"/live/{channel}/720p/seg_{i}.ts",
        "status": 200,
        "bytes_sent": 1000,
        "object_size": 1000,
        "duration_ms": 40,
    }
    value.update(patch)
    return json.dumps(value).encode()


def _records(values: list[bytes], first_offset: int = 100) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            key=b"k%d" % i,
            value=v,
            offset=first_offset + i,
            timestamp=1_700_000_000_000 + i,
            serialized_value_size=len(v),
        )
        for i, v in enumerate(values)
    ]


CHANNELS = [f"chan{i}" for i in range(12)]


def _split(records: list[SimpleNamespace], **kw: Any) -> ingest.SplitBatch:
    args: dict[str, Any] = {"max_bytes": 1 << 20, "partitions": PARTS, "caught_up": True}
    args.update(kw)
    return split_batch("cdn-logs", 3, records, partition_of, **args)


def _by_target(out: ingest.SplitBatch) -> dict[int, list[Any]]:
    envs: dict[int, list[Any]] = {}
    for target, payload in out.envelopes:
        envs.setdefault(target, []).append(decode_envelope(payload))
    return envs


def test_events_grouped_by_channel_partition_in_offset_order() -> None:
    values = [_cdn(i, CHANNELS[i % len(CHANNELS)], 1000.0 + i) for i in range(60)]
    out = _split(_records(values))
    assert out.valid == 60 and out.dlq == [] and out.newest_ts == 1059.0
    envs = _by_target(out)
    assert sorted(envs) == list(range(PARTS))  # every partition hears about this batch
    seen = []
    for target, group in envs.items():
        assert len(group) == 1
        env = group[0]
        assert env.header.source_topic == "cdn-logs" and env.header.source_partition == 3
        assert env.header.clock == 1059.0 and env.header.caught_up is True
        assert env.header.offsets == sorted(env.header.offsets)
        for event, offset, stamp in zip(
            env.events, env.header.offsets, env.header.timestamps, strict=True
        ):
            assert partition_of(event.channel_id) == target
            assert event.event_id == f"e{offset - 100}"
            assert stamp == (1_700_000_000_000 + offset - 100) / 1000.0
            assert event.country == "DE"
            seen.append(offset)
    assert sorted(seen) == list(range(100, 160))


def test_a_partition_without_events_still_gets_the_source_progress() -> None:
    channel = CHANNELS[0]
    out = _split(_records([_cdn(i, channel, 50.0 + i) for i in range(3)]), caught_up=False)
    envs = _by_target(out)
    mine = partition_of(channel)
    for target in range(PARTS):
        (env,) = envs[target]
        assert env.header.clock == 52.0 and env.header.caught_up is False
        assert len(env.events) == (3 if target == mine else 0)


def test_bad_records_go_to_the_dlq_with_their_offsets_and_the_rest_flows() -> None:
    values = [_cdn(i, CHANNELS[i % 3], 10.0 + i) for i in range(6)]
    values[1] = b"not json"
    values[4] = _cdn(4, CHANNELS[1], 14.0, status=900)
    out = _split(_records(values))
    assert out.valid == 4
    assert [key for key, _, _ in out.dlq] == [b"k1", b"k4"]
    records = [decode_dlq(raw) for _, raw, _ in out.dlq]
    assert [(r.code, r.partition, r.offset) for r in records] == [
        ("not_json", 3, 101),
        ("schema", 3, 104),
    ]
    assert "$.status" in records[1].reason
    offsets = sorted(
        o for group in _by_target(out).values() for e in group for o in e.header.offsets
    )
    assert offsets == [100, 102, 103, 105]


def test_an_oversized_record_goes_to_the_dlq() -> None:
    values = [_cdn(i, CHANNELS[0], 10.0 + i) for i in range(3)]
    values[2] = _cdn(2, CHANNELS[0], 12.0, user_agent="x" * 3000)
    out = _split(_records(values), max_bytes=2000)
    assert out.valid == 2
    (record,) = [decode_dlq(raw) for _, raw, _ in out.dlq]
    assert record.code == "oversized" and record.offset == 102


def test_a_batch_with_no_valid_event_sends_an_empty_clock() -> None:
    out = _split(_records([b"{", b"[]"]))
    assert out.valid == 0 and len(out.dlq) == 2
    for group in _by_target(out).values():
        assert group[0].events == [] and group[0].header.clock == float("-inf")


def test_large_groups_are_cut_and_only_the_last_piece_says_caught_up(monkeypatch: Any) -> None:
    monkeypatch.setattr(ingest, "ENVELOPE_MAX_BYTES", 2000)
    channel = CHANNELS[0]
    values = [_cdn(i, channel, 100.0 + i) for i in range(20)]
    out = _split(_records(values))
    group = _by_target(out)[partition_of(channel)]
    assert len(group) > 2
    assert [e.header.caught_up for e in group] == [False] * (len(group) - 1) + [True]
    # only the last piece carries the source's progress: the merge must not release other
    # sources' events past this one's before its earlier pieces are all in
    assert [e.header.clock for e in group] == [float("-inf")] * (len(group) - 1) + [119.0]
    assert [o for e in group for o in e.header.offsets] == list(range(100, 120))
    biggest = max(map(len, values))
    for env in group[:-1]:  # cut once past the limit: over it by less than one event
        size = sum(len(values[o - 100]) for o in env.header.offsets)
        assert 2000 < size <= 2000 + biggest


def test_cdn_lines_of_sampled_sessions_are_kept_for_the_raw_log() -> None:
    values = [_cdn(i, CHANNELS[0], 10.0 + i) for i in range(14)]
    out = _split(_records(values), sample=lambda session: session == "s3")
    assert [e.event_id for e in out.sampled] == ["e3", "e10"]
