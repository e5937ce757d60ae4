"""Partition lists and end offsets of topics, asked of the broker directly.

``AIOKafkaConsumer.partitions_for_topic`` answers from the consumer's own metadata, which
covers only topics it subscribed to; ``consumer.topics()`` does not fill it in. Tansu returns
every topic in any metadata response, so the shortcut happens to work there, but on Apache
Kafka it yields nothing and a reader silently reads no partitions. The admin API's
DescribeTopics is exact on both.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def topic_partitions(bootstrap: str, topic: str, **kafka_kwargs: Any) -> list[TopicPartition]:
    """Every partition of ``topic``, sorted; empty when the topic does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_kwargs)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    ids = sorted(
        p["partition"]
        for t in described
        if t["topic"] == topic and t["error_code"] == 0
        for p in t["partitions"]
    )
    return [TopicPartition(topic, p) for p in ids]


async def exact_end_offsets(
    consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int], timeout_s: float = 30.0
) -> dict[TopicPartition, int]:
    """ListOffsets' "latest" answers, corrected by the high watermark of a fetch.

    Tansu answers "latest" with the base offset of the newest record batch + 1, so after a
    multi-record batch it is short by the rest of that batch (docs/brokers.md, section 1). A
    reader that stops there skips records; Faust's table recovery stops there and so restores a
    changelog without its newest writes. A fetch at the reported end - 1 returns the last batch,
    and its response carries the true high watermark on every broker. ``consumer`` is a started,
    group-less consumer used for nothing else; partitions it is given are reassigned.
    """
    out = dict(ends)
    probe = [tp for tp, end in ends.items() if end]
    if not probe:
        return out
    consumer.assign(probe)
    for tp in probe:
        consumer.seek(tp, ends[tp] - 1)
    deadline = time.monotonic() + timeout_s
    while waiting := [tp for tp in probe if consumer.highwater(tp) is None]:
        if time.monotonic() > deadline:
            names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in waiting)
            raise TimeoutError(f"no fetch answer within {timeout_s:g} s for {names}")
        await consumer.getmany(*waiting, timeout_ms=200, max_records=1)
    for tp in probe:
        out[tp] = max(ends[tp], consumer.highwater(tp) or 0)
    return out
