"""Start-up checks: every dependency answers and is set up, or the worker exits with the reason.

- Kafka: the brokers answer; the public topics exist (created with ``VBG_TOPIC_PARTITIONS``
  when missing), and so do the internal channel topic and the compacted live-config topic.
- ClickHouse: reachable and migrated. With embedded chDB the worker is the only process that
  can open the data path, so it applies the schema itself (idempotent); a server must have been
  migrated with ``vbg-engine migrate``.
- Redis: answers PING.
- The HTTP API's address (``VBG_WEB_BIND``, ``ENGINE_PORT``) can be bound: found only once
  every agent had started, a busy port ended the worker with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from engine.config import Settings
from engine.errors import CommandError
from engine.runtime.settings import RuntimeSettings
from engine.schemas import INPUT_TOPICS
from engine.storage.clickhouse import StorageError, _redact

log = logging.getLogger("engine.runtime.preflight")

PUBLIC_TOPICS = (*INPUT_TOPICS, "decisions", "enforcement", "dlq")
TIMEOUT_S = 15.0


async def preflight(settings: Settings, rt: RuntimeSettings) -> None:
    try:
        Path(rt.data_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"VBG_DATA_DIR={rt.data_dir!r}: {exc.strerror or exc}") from None
    _web_port(rt.web_bind, settings.engine_port)
    await _kafka(settings, rt)
    await asyncio.to_thread(_clickhouse, settings)
    await _redis(settings)


def _web_port(host: str, port: int) -> None:
    """Bind the API's address once, the way aiohttp will (``SO_REUSEADDR``: a port in
    TIME_WAIT is fine, one another process listens on is not)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise CommandError(
            f"cannot serve the HTTP API on {host}:{port} (VBG_WEB_BIND, ENGINE_PORT):"
            f" {exc.strerror or _one_line(exc)}"
        ) from None


async def _kafka(settings: Settings, rt: RuntimeSettings) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_servers,
        request_timeout_ms=int(TIMEOUT_S * 1000),
        **settings.kafka_security.aiokafka_kwargs(),
    )
    try:
        with _quiet("aiokafka"):
            await asyncio.wait_for(admin.start(), TIMEOUT_S)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise CommandError(
            f"Kafka at {settings.kafka_bootstrap} is unreachable: {_one_line(exc)}"
        ) from None
    try:
        existing = set(await asyncio.wait_for(admin.list_topics(), TIMEOUT_S))
        wanted = [
            NewTopic(rt.topic(name), settings.topic_partitions, rt.topic_replication)
            for name in PUBLIC_TOPICS
            if rt.topic(name) not in existing
        ]
        # The internal channel topic too: left to Faust, it is created moments before the first
        # assignment, and a broker whose metadata lags (Apache Kafka) makes the assignor skip
        # it ("Ignoring missing topic"): the decide agent then gets no partition at all.
        channel_topic = rt.internal("channel-events")
        if channel_topic not in existing:
            wanted.append(NewTopic(channel_topic, settings.topic_partitions, rt.topic_replication))
        config_topic = rt.internal("config")
        if config_topic not in existing:
            wanted.append(
                NewTopic(
                    config_topic,
                    1,
                    rt.topic_replication,
                    topic_configs={"cleanup.policy": "compact"},
                )
            )
        for topic in wanted:
            try:
                await asyncio.wait_for(admin.create_topics([topic]), TIMEOUT_S)
                log.info("created topic %s (%d partitions)", topic.name, topic.num_partitions)
            except TopicAlreadyExistsError:
                pass
    except (KafkaError, OSError, TimeoutError) as exc:
        raise CommandError(
            f"Kafka at {settings.kafka_bootstrap}: cannot list or create topics: {_one_line(exc)}"
        ) from None
    finally:
        await admin.close()


def _clickhouse(settings: Settings) -> None:
    from engine.sinks.clickhouse import ClickHouseWriter
    from engine.storage.migrate import migrate

    writer = ClickHouseWriter(settings.clickhouse_url)
    try:
        if writer.embedded:
            writer.call(migrate)
        writer.open()
    except StorageError as exc:
        raise CommandError(f"ClickHouse: {exc}") from None


async def _redis(settings: Settings) -> None:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await asyncio.wait_for(client.ping(), 10)
    except (RedisError, OSError, TimeoutError) as exc:
        raise CommandError(
            f"Redis at {_redact(settings.redis_url)} is unreachable: {_one_line(exc)}"
        ) from None
    finally:
        await client.aclose()


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """A failed start is reported once, as one line: aiokafka's own log of the same refused
    connection (a JSON line before ours) only repeats it."""
    target = logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        target.setLevel(level)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
