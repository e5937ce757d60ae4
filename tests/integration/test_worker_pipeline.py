"""One `vbg-engine worker` on a real broker: parity with replay, landing, bad input, DLQ replay.

The tests of this module share one worker (its own consumer group, topics and key prefix) and
run in order: simulator traffic first, then a malformed-message storm while good traffic keeps
flowing, then the DLQ replay of that storm.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from worker_harness import (
    Worker,
    create_input_topics,
    final_actions,
    produce,
    read_decisions,
    read_topic,
    replay_decisions,
    simulate,
    unique,
    wait_for,
)

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.timeout(300),
]

MAX_BYTES = 65_536  # the worker's VBG_MAX_MESSAGE_BYTES here, so "huge" stays under the broker's


@pytest.fixture(scope="module")
def traffic() -> list[tuple[str, bytes, bytes]]:
    return simulate(seed=7, duration=150, viewers=120)


@pytest.fixture(scope="module")
def expected(traffic: list[tuple[str, bytes, bytes]]) -> list[dict]:
    return replay_decisions(traffic)


@pytest.fixture(scope="module")
def name() -> str:
    return unique("pipe")


@pytest.fixture(scope="module")
def backlog(kafka_bootstrap: str, name: str, traffic: list) -> int:
    """The simulator traffic, produced before the worker starts (a backlog to catch up on)."""
    create_input_topics(kafka_bootstrap, f"{name}.")
    return produce(kafka_bootstrap, f"{name}.", traffic)


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    backlog: int,
) -> Iterator[Worker]:
    w = Worker(
        tmp_path_factory.mktemp(name),
        kafka_bootstrap,
        redis_url,
        app_id=name,
        prefix=f"{name}.",
        redis_prefix=f"{name}:",
        env={
            "VBG_RAW_CDN_SAMPLE": "0.05",
            "VBG_VIEWERS_EVERY_S": "1",
            "VBG_MAX_MESSAGE_BYTES": str(MAX_BYTES),
        },
    ).start()
    try:
        w.wait_ready()
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="module")
def processed(
    worker: Worker, kafka_bootstrap: str, traffic: list, expected: list[dict]
) -> list[dict]:
    """Wait until the worker has consumed the backlog and published as many decisions as
    replay makes; the decisions topic."""
    wait_for(lambda: worker.events_in() >= len(traffic), 120, what="all events consumed")
    wait_for(
        lambda: sum(worker.stats()["decisions"].values()) >= len(expected),
        120,
        what=f"{len(expected)} decisions",
    )
    return read_decisions(kafka_bootstrap, worker.prefix)


def test_parity_with_replay(processed: list[dict], expected: list[dict]) -> None:
    assert expected, "the simulator traffic should lead to decisions"
    assert final_actions(processed) == final_actions(expected)
    assert {d["decision_id"] for d in processed} == {d["decision_id"] for d in expected}
    # Same content as replay except the wall-clock stamp the worker adds.
    replayed = {d["decision_id"]: d for d in expected}
    for d in processed:
        want = replayed[d["decision_id"]]
        assert (d["action"], d["reasons"], d["score"], d["ts"]) == (
            want["action"],
            want["reasons"],
            want["score"],
            want["ts"],
        )
        assert d["decided_at"] >= d["ts"]


def test_decisions_land_in_clickhouse(worker: Worker, processed: list[dict]) -> None:
    ids = {d["decision_id"] for d in processed}
    counts = wait_for(
        lambda: (c := worker.clickhouse_counts())["rows_final"] >= len(ids) and c,
        60,
        what="decisions in ClickHouse",
    )
    assert counts["rows_final"] == counts["distinct_ids"] == len(ids)
    one = processed[-1]
    rows = worker.get(
        "/api/v1/analytics/session_decisions", params={"session_id": one["session_id"]}
    ).json()["rows"]
    assert one["decision_id"] in {r["decision_id"] for r in rows}


def test_enforcement_lands_in_redis(worker: Worker, processed: list[dict], redis_url: str) -> None:
    final = final_actions(processed)
    client = redis.Redis.from_url(redis_url)
    try:

        def converged() -> bool:
            for sid, action in final.items():
                raw = client.get(f"{worker.redis_prefix}action:{sid}")
                if raw is None or json.loads(raw)["action"] != action:
                    return False
            return True

        wait_for(converged, 60, what="Redis action keys")
        sample_sid = next(iter(final))
        value = json.loads(client.get(f"{worker.redis_prefix}action:{sample_sid}"))
        assert set(value) == {"action", "score", "reasons", "ts"}
        assert 0 < client.ttl(f"{worker.redis_prefix}action:{sample_sid}") <= 3600
        channels = {d["channel_id"] for d in processed}
        keys = [f"{worker.redis_prefix}channel:{channel}:viewers" for channel in channels]
        # Viewer counts are written every VBG_VIEWERS_EVERY_S, not with each decision: the last
        # channel's first write can come up to that long after its decisions.
        wait_for(lambda: all(client.exists(k) for k in keys), 30, what="viewer count hashes")
        for key in keys:
            viewers = client.hgetall(key)
            assert {b"raw", b"counted", b"updated_at"} <= set(viewers)
            assert int(viewers[b"counted"]) <= int(viewers[b"raw"])
    finally:
        client.close()


def test_session_lookup(worker: Worker, processed: list[dict]) -> None:
    final = final_actions(processed)
    sid = next(iter(final))
    body = worker.get(f"/api/v1/sessions/{sid}").json()
    assert body["session_id"] == sid
    assert body["action"] == final[sid]
    assert body["features"]
    assert body["recent_decisions"]
    assert worker.get("/api/v1/sessions/no-such-session").status_code == 404


BAD = [
    b"not json at all",
    b'{"event_id": "x", "ts": "yesterday", "session_id": "s", "channel_id": "c"}',
    b"\xff\xfe\x00garbage",
    b'{"event_id": 1}',
    json.dumps({"event_id": "big", "ts": 1.0, "session_id": "s", "channel_id": "c"}).encode()
    + b" " * (2 * MAX_BYTES),
]


def test_malformed_storm_goes_to_dlq_while_good_traffic_flows(
    worker: Worker, kafka_bootstrap: str, processed: list[dict]
) -> None:
    before = worker.events_in()
    decisions_before = sum(worker.stats()["decisions"].values())
    good = simulate(seed=99, duration=90, viewers=40)
    storm = [("cdn-logs", b"k", BAD[i % len(BAD)]) for i in range(200)]
    storm += [("player-events", b"k", BAD[i % 4]) for i in range(50)]
    mixed = []
    for i, item in enumerate(good):
        mixed.append(item)
        if i % 20 == 0 and storm:
            mixed.append(storm.pop())
    mixed.extend(storm)
    produce(kafka_bootstrap, worker.prefix, mixed)

    wait_for(lambda: worker.events_in() >= before + len(mixed), 120, what="storm consumed")
    dlq = wait_for(
        lambda: len(r := read_topic(kafka_bootstrap, worker.prefix + "dlq")) >= 250 and r,
        60,
        what="250 dlq records",
    )
    assert len(dlq) == 250
    records = [json.loads(value) for _key, value in dlq]
    codes = {r["code"] for r in records}
    assert {"not_json", "schema", "oversized"} <= codes
    for r in records:
        assert r["source_topic"] in ("cdn-logs", "player-events")
        assert r["partition"] is not None and r["offset"] is not None
        assert r["reason"]
    huge = [r for r in records if r["code"] == "oversized"]
    assert huge and all(r["raw_truncated"] and r["raw_size"] > MAX_BYTES for r in huge)
    stats = worker.stats()
    assert sum(sum(v.values()) for v in stats["dlq"].values()) == 250
    # the good traffic kept flowing: more decisions than before the storm
    wait_for(
        lambda: sum(worker.stats()["decisions"].values()) > decisions_before,
        60,
        what="decisions on good traffic",
    )


def test_dlq_replay_republishes_to_source_topics(worker: Worker, kafka_bootstrap: str) -> None:
    def bad_in(topic: str) -> int:
        return sum(value in BAD for _k, value in read_topic(kafka_bootstrap, worker.prefix + topic))

    before = {t: bad_in(t) for t in SOURCES}
    first = worker.post("/api/v1/dlq/replay", {"limit": 100})
    assert first.status_code == 200, first.text
    assert first.json()["total"] == 100
    assert replay_position(kafka_bootstrap, worker) == 100
    second = worker.post("/api/v1/dlq/replay", {"limit": 150}).json()
    assert second["total"] == 150
    assert replay_position(kafka_bootstrap, worker) == 250  # continues, never repeats
    counts: dict[str, int] = {}
    for body in (first.json()["replayed"], second["replayed"]):
        for key, n in body.items():
            counts[key] = counts.get(key, 0) + n
    # oversized messages were cut when dead-lettered, so they cannot be replayed
    assert counts["skipped_truncated"] == 40
    for topic in SOURCES:  # each replayed message is back on its source topic, byte for byte
        assert bad_in(topic) - before[topic] == counts.get(topic, 0) > 0
    # the republished messages are still bad: they are dead-lettered again
    wait_for(
        lambda: len(read_topic(kafka_bootstrap, worker.prefix + "dlq")) >= 250 + 210,
        60,
        what="replayed messages dead-lettered again",
    )


SOURCES = ("cdn-logs", "player-events")


def replay_position(kafka_bootstrap: str, worker: Worker) -> int:
    """Sum of the DLQ-replay group's committed offsets (how many DLQ records it went past)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    from engine.kafkameta import topic_partitions

    async def fetch() -> int:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap,
            group_id=f"{worker.app_id}-dlq-replay",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            topic = worker.prefix + "dlq"
            total = 0
            for tp in await topic_partitions(kafka_bootstrap, topic):
                total += await consumer.committed(tp) or 0
            return total
        finally:
            await consumer.stop()

    return asyncio.run(fetch())


def test_logs_are_structured_and_never_hold_tokens(worker: Worker) -> None:
    log = Path(worker.log_path).read_text(errors="replace")
    assert "test-write-token" not in log and "test-read-token" not in log
    for line in log.splitlines():
        if line.startswith("{"):
            json.loads(line)  # structured: every log line is one JSON object
