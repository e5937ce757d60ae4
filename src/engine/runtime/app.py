"""The Faust app of ``vbg-engine worker``: topics, tables, shared resources; agents in ``agents``.

Data flow (one consumer group; every agent has concurrency 1):

    cdn-logs, player-events,      ingest          {app}-channel-events      decide
    chat-events, challenge-results ─────► (validate; dlq) ─────────────────► (tables, step())
                                          by channel partition               │
                      decisions ◄─────────────────────────────────────────────┤
                      enforcement ◄────────────────────────────────────────────┘
    decisions ──► clickhouse sink (take n within s; dedup tokens; retry = backpressure)
    enforcement ──► redis sink (set-if-newer; pending + held while Redis is down)
    {app}-config ──► every worker's LiveConfig tail (thresholds, overrides)

Roles (``VBG_WORKER_ROLE``, ``vbg-engine worker --role``): one process runs everything
(``all``), or the stateless work (ingest, the ClickHouse and Redis sinks) runs in ``ingest``
processes and the stateful work (decide) in ``decide`` processes.
Python runs one thread at a time, and the decide path is the heavier half, so one process of
each uses two cores where one ``all`` process uses one; the halves scale separately (ingest is
stateless and balanced by input partition, decide by channel). Ingest processes form a consumer
group of their own (``{app}-ingest``: their subscription differs) and keep no tables; both
roles share the channel topic, and each acks only what it has made durable, as before.

Input, channel and enforcement topics are *batch topics* (``engine.runtime.transport``): one
Faust event per fetched partition batch. ``decisions`` is consumed per message, as the ClickHouse
sink batches with ``take``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import faust

from engine.api.subscriptions import DecisionHub
from engine.config import Settings
from engine.runtime import transport
from engine.runtime.align import SourceAlignment
from engine.runtime.decide import DecisionProcessor
from engine.runtime.envelope import ChannelPartitioner
from engine.runtime.keyhash import CachedKeyPartitioner
from engine.runtime.livecfg import LiveConfig
from engine.runtime.publish import Confirmations, TableWriter
from engine.runtime.rawlog import RawCdnBuffer
from engine.runtime.settings import RuntimeSettings
from engine.schemas import INPUT_TOPICS
from engine.sinks.clickhouse import ClickHouseWriter
from engine.sinks.redis_enforcement import FastPath, RedisEnforcer

log = logging.getLogger("engine.runtime")

BATCH_QUEUE = 16  # fetched batches buffered per batch-topic stream
MESSAGE_QUEUE = 8192  # messages buffered per per-message stream


class EngineApp(faust.App):
    """faust.App with the engine's transport and the engine's resources in its lifecycle."""

    def __init__(self, *args: Any, engine: Engine, transport_cls: type, **kwargs: Any) -> None:
        self.engine = engine
        self._transport_cls = transport_cls
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return self._transport_cls(self.conf.broker_consumer, self)

    async def on_start(self) -> None:
        await super().on_start()
        await self.engine.start_resources()

    async def on_shutdown(self) -> None:
        await self.engine.stop_resources()
        await super().on_shutdown()


class RawTable(faust.Table):
    """A table whose str keys travel as raw UTF-8 (Faust serializes str keys as JSON by
    default): ``engine.runtime.publish.TableWriter`` writes the changelog directly, raw, and
    recovery must read back what it wrote."""

    def _serializer_from_type(self, typ: Any) -> Any:
        return "raw" if typ in (str, bytes) else super()._serializer_from_type(typ)


def _credentials(settings: Settings) -> Any:
    security = settings.kafka_security
    if security.protocol == "PLAINTEXT":
        return None
    ssl_context = security.aiokafka_kwargs().get("ssl_context")
    if security.protocol == "SSL":
        return faust.SSLCredentials(ssl_context)
    return faust.SASLCredentials(
        username=security.sasl_username,
        password=security.sasl_password,
        ssl_context=ssl_context,
        mechanism=security.sasl_mechanism,
    )


def partition_count(consumer: Any, topic: str) -> int | None:
    """Partitions of ``topic``: from the group leader's metadata snapshot (Faust's way), else
    from the client's cluster metadata. Only the leader has a snapshot; on every other worker
    Faust's answer was None, so their merges waited their whole start-up grace (10 s) before
    applying anything."""
    try:
        count = consumer.topic_partitions(topic)
    except Exception:
        count = None
    if count:
        return int(count)
    try:
        partitions = consumer._thread._ensure_consumer()._client.cluster.partitions_for_topic(topic)
    except Exception:
        return None
    return len(partitions) if partitions else None


class Engine:
    """Everything one worker process runs: the Faust app and the resources its agents share."""

    def __init__(self, settings: Settings, rt: RuntimeSettings) -> None:
        self.settings = settings
        self.rt = rt
        self.started_at = time.time()
        self.input_topics = {rt.topic(name): name for name in INPUT_TOPICS}
        self.channel_topic_name = rt.internal("channel-events")
        self.decisions_topic_name = rt.topic("decisions")
        self.enforcement_topic_name = rt.topic("enforcement")
        self.dlq_topic_name = rt.topic("dlq")
        self.config_topic_name = rt.internal("config")

        transport_cls = transport.configure(
            batch_topics=[*self.input_topics, self.channel_topic_name, self.enforcement_topic_name],
            detached_topics=[self.decisions_topic_name, self.enforcement_topic_name],
            fetch_max_wait_ms=rt.fetch_max_wait_ms,
        )
        self.app = EngineApp(
            rt.group_id,
            engine=self,
            transport_cls=transport_cls,
            broker=[f"kafka://{server}" for server in settings.kafka_servers],
            broker_credentials=_credentials(settings),
            store=rt.table_store,
            datadir=rt.data_dir,
            topic_partitions=settings.topic_partitions,
            topic_replication_factor=rt.topic_replication,
            topic_disable_leader=True,
            key_serializer="raw",
            value_serializer="raw",
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=rt.session_timeout_s,
            broker_heartbeat_interval=min(3.0, rt.session_timeout_s / 4),
            broker_request_timeout=max(90.0, rt.session_timeout_s + 10),
            broker_commit_interval=1.0,
            producer_linger=0.01,
            producer_max_batch_size=1_048_576,
            producer_compression_type=rt.kafka_compression,
            producer_partitioner=CachedKeyPartitioner(),
            producer_max_request_size=1_048_576,  # envelopes and DLQ records are capped below
            stream_buffer_maxsize=MESSAGE_QUEUE,
            web_enabled=True,
            web_port=settings.engine_port,
            web_bind=rt.web_bind,
            web_in_thread=False,
            table_standby_replicas=rt.standby_replicas,
        )
        app = self.app
        raw = transport.RawSchema()
        self.input_topic = app.topic(*self.input_topics, schema=raw, maxsize=BATCH_QUEUE)
        self.channel_topic = app.topic(
            self.channel_topic_name,
            schema=raw,
            maxsize=BATCH_QUEUE,
            internal=True,
            partitions=settings.topic_partitions,
        )
        self.decisions_topic = app.topic(
            self.decisions_topic_name, schema=raw, maxsize=MESSAGE_QUEUE
        )
        self.enforcement_topic = app.topic(
            self.enforcement_topic_name, schema=raw, maxsize=BATCH_QUEUE
        )
        self.dlq_topic = app.topic(self.dlq_topic_name, schema=raw)
        # An ingest-only worker keeps no state: no tables, so no changelogs of its own.
        self.decides = rt.role != "ingest"
        self.sessions: Any = None
        self.channels: Any = None
        if self.decides:
            self.sessions, self.channels = (
                app.tables.add(
                    RawTable(
                        app,
                        name=name,
                        key_type=str,
                        value_type=bytes,
                        beacon=app.tables.beacon,
                        partitions=settings.topic_partitions,
                    )
                )
                for name in ("sessions", "channels")
            )

        self.partition_of = ChannelPartitioner(settings.topic_partitions)
        self.live = LiveConfig(
            self.config_topic_name,
            settings.kafka_servers,
            settings.kafka_security.aiokafka_kwargs(),
        )
        self.clickhouse = ClickHouseWriter(settings.clickhouse_url)
        self.redis = RedisEnforcer(
            settings.redis_url, settings.redis_key_prefix, rt.action_ttl_s, rt.redis_pending_max
        )
        self.fast_redis = FastPath(self.redis)
        # Decisions and enforcement records sent but not yet known durable: awaited before the
        # next table write (see engine.runtime.agents._decide).
        self.unconfirmed: list[Any] = []
        self.hub = DecisionHub()
        self.raw_cdn = RawCdnBuffer(rt.raw_cdn_sample)
        self.processor = DecisionProcessor(
            lambda key: self.sessions.data.get(key),
            lambda key: self.channels.data.get(key),
            on_error=self._detection_error,
            flush_s=rt.state_flush_s,
        )
        self.detection_errors = 0
        # Input partitions, when the consumer cannot tell (a decide-only worker does not
        # subscribe to the input topics): asked of the broker at start.
        self.input_partitions: int | None = None
        self.alignment = SourceAlignment(ahead_s=rt.align_ahead_s)
        self.released_early = 0  # events the merge applied out of guaranteed order
        self.newest_ts = 0.0
        self.session_writer = TableWriter(app, self.sessions)
        self.channel_writer = TableWriter(app, self.channels)
        self.ingest_confirmations = Confirmations(self._release, app.crash)
        self.decide_confirmations = Confirmations(self._release, app.crash)
        self.enforcement_held: list[Any] = []

        @app.on_partitions_revoked.connect
        def _revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
            self.alignment.reset()  # Faust pauses and resumes every partition meanwhile
            self._forget(revoked)

        @app.on_partitions_assigned.connect
        def _assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
            self.alignment.reset()
            self._forget(assigned)
            self.processor.expect_sources(self._input_partitions())

        from engine.runtime.agents import register_agents
        from engine.runtime.services import RuntimeServices

        register_agents(self)
        self.services = RuntimeServices(self)
        self.api = self.services.mount(app.web.web_app, settings.api_tokens)

    def _input_partitions(self) -> int | None:
        """How many input partitions exist: the merge's start-up wait ends once it has heard
        from all of them (None: it waits its whole grace period)."""
        if self.input_partitions is not None:
            return self.input_partitions
        total = 0
        for topic in self.input_topics:
            count = partition_count(self.app.consumer, topic)
            if not count:
                return None
            total += count
        return total

    def _release(self, message: Any) -> None:
        self.consumer.release(message)

    def _forget(self, tps: Any) -> None:
        parts = [tp.partition for tp in tps if tp.topic == self.channel_topic_name]
        if parts:
            self.consumer.drop_held(self.processor.forget(parts))

    def _detection_error(self, exc: BaseException, event: object) -> None:
        self.detection_errors += 1
        if self.detection_errors <= 10 or self.detection_errors % 1000 == 0:
            log.error(
                "detection failed on an event of session %s (%d so far): %s: %s",
                getattr(event, "session_id", "?"),
                self.detection_errors,
                type(exc).__name__,
                exc,
            )

    @property
    def consumer(self) -> transport.Consumer:
        return self.app.consumer  # type: ignore[return-value]

    async def start_resources(self) -> None:
        if self.rt.role == "decide":
            await self._count_input_partitions()
        await self.live.start()

    async def _count_input_partitions(self) -> None:
        from engine.kafkameta import topic_partitions

        bootstrap = ",".join(self.settings.kafka_servers)
        kwargs = self.settings.kafka_security.aiokafka_kwargs()
        try:
            counts = [
                len(await topic_partitions(bootstrap, topic, **kwargs))
                for topic in self.input_topics
            ]
        except Exception as exc:  # the merge then waits out its start-up grace: slower, not wrong
            log.warning("could not count the input partitions: %s", exc)
            return
        if all(counts):
            self.input_partitions = sum(counts)
            self.processor.expect_sources(self.input_partitions)

    async def stop_resources(self) -> None:
        self.hub.close()
        await self.live.stop()
        await self.fast_redis.close()
        await self.redis.close()
