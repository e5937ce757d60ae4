"""``vbg-engine simulate --kafka`` against a real broker: every event arrives, keyed by session."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from engine.cli import main
from engine.simulate.emit import TOPICS

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(150)]


async def consume_all(
    bootstrap: str, topics: list[str], expected: int
) -> list[tuple[str, bytes, bytes, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        if len(parts) < len(topics):
            await consumer._client.force_metadata_update()
            parts = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        got: list[tuple[str, bytes, bytes, int]] = []
        deadline = asyncio.get_running_loop().time() + 60
        while len(got) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                got.extend((r.topic, r.key, r.value, r.partition) for r in records)
        return got
    finally:
        await consumer.stop()


def test_kafka_output_matches_the_file_output(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = f"vbg-sim-{uuid.uuid4().hex[:8]}."
    out = tmp_path / "events.jsonl"
    scenario = ["--duration", "120", "--viewers", "30", "--channels", "3", "--max-events", "4000"]
    kafka = [
        "--kafka",
        "--bootstrap",
        kafka_bootstrap,
        "--topic-prefix",
        prefix,
        "--partitions",
        "2",
    ]
    paced = ["--rate", "40000"]  # the same events, spread over wall-clock time
    argv = ["simulate", *scenario, *kafka, *paced]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0

    expected = []
    for line in out.read_bytes().splitlines():
        env = json.loads(line)
        expected.append((prefix + env["topic"], env["value"]["session_id"].encode(), line))
    got = asyncio.run(consume_all(kafka_bootstrap, [prefix + t for t in TOPICS], len(expected)))

    assert Counter(t for t, _, _, _ in got) == Counter(t for t, _, _ in expected)
    assert Counter((t, k) for t, k, _, _ in got) == Counter((t, k) for t, k, _ in expected)
    partitions: dict[tuple[str, bytes], set[int]] = {}
    for topic, key, value, partition in got:
        assert json.loads(value)["session_id"].encode() == key
        partitions.setdefault((topic, key), set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values())  # a session stays on one partition
    assert {p for ps in partitions.values() for p in ps} == {0, 1}
    file_values = Counter(
        json.dumps(json.loads(line)["value"], sort_keys=True) for _, _, line in expected
    )
    kafka_values = Counter(json.dumps(json.loads(v), sort_keys=True) for _, _, v, _ in got)
    assert kafka_values == file_values
