"""Partition lists of topics, asked of the broker directly.

``AIOKafkaConsumer.partitions_for_topic`` answers from the consumer's own metadata, which
covers only topics it subscribed to; ``consumer.topics()`` does not fill it in. Tansu returns
every topic in any metadata response, so the shortcut happens to work there, but on Apache
Kafka it yields nothing and a reader silently reads no partitions. The admin API's
DescribeTopics is exact on both.
"""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
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
