"""``EngineServices`` for the HTTP API, backed by the running worker (``engine.api.services``).

Session lookup: a session's live state is on the worker that owns its *channel's* partition (the
tables are keyed by session but co-partitioned by channel), which a session id alone does not
name. Instead of routing between workers, every worker answers from what is shared: its own state
when it holds the session (freshest: current features and score), else the newest decision from
ClickHouse (which carries score, action, reasons and features) and the enforced action from
Redis. Any worker gives a sound answer; the owner gives a fresher one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from engine import metrics
from engine.analytics import catalog
from engine.api.services import ComponentHealth, HealthReport
from engine.api.subscriptions import DecisionSubscription
from engine.config import ApiToken
from engine.detect import Detector, Override, Thresholds, decide
from engine.kafkameta import topic_partitions
from engine.runtime.decide import decode_session_record
from engine.schemas import ACTION_RANK, BaseEvent, Decision, decode_dlq
from engine.storage.clickhouse import StorageError

if TYPE_CHECKING:
    from engine.runtime.app import Engine

log = logging.getLogger("engine.runtime.services")

DLQ_REPLAY_GROUP_SUFFIX = "dlq-replay"
RECENT_DECISIONS = 20


class RuntimeServices:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def mount(self, web_app: web.Application, tokens: tuple[ApiToken, ...]) -> Any:
        from engine.api.routes import register

        return register(web_app, self, tokens)

    # ---- health and stats ---------------------------------------------------------------
    async def health(self) -> HealthReport:
        kafka, clickhouse, redis = await asyncio.gather(
            self._kafka_health(), self._clickhouse_health(), self._redis_health()
        )
        return HealthReport(
            components={
                "kafka": kafka,
                "clickhouse": clickhouse,
                "redis": redis,
                "worker": self._worker_health(),
            }
        )

    async def _kafka_health(self) -> ComponentHealth:
        live = self.engine.live
        if live.last_poll_ok is not None and time.monotonic() - live.last_poll_ok < 10:
            consumer = self.engine.app.consumer
            try:
                assigned = len(consumer.assignment())
            except Exception:
                assigned = 0
            return ComponentHealth("ok", f"{assigned} partition(s) assigned")
        return ComponentHealth("down", "no answer from the brokers for 10 s")

    async def _clickhouse_health(self) -> ComponentHealth:
        writer = self.engine.clickhouse
        where = writer.describe()
        if not writer.healthy:
            return ComponentHealth(
                "down", f"{where}: writes failing, retrying ({writer.last_error[:200]})"
            )
        if writer.embedded:
            return ComponentHealth("ok", f"{where} (embedded)")
        if await writer.ping():
            return ComponentHealth("ok", where)
        return ComponentHealth("down", f"{where}: no answer")

    async def _redis_health(self) -> ComponentHealth:
        """``degraded``, never ``down``, while Redis is unreachable or enforcement is still
        catching up (DESIGN §4: decisions keep flowing to Kafka and ClickHouse meanwhile).
        A reachable Redis with nothing pending is ``ok`` even if an earlier write failed: the
        worker may be idle, with no write coming to prove it."""
        redis = self.engine.redis
        try:
            reachable = await asyncio.wait_for(redis.ping(), 3)
        except TimeoutError:
            reachable = False
        pending = len(redis.pending)
        if reachable and not pending:
            return ComponentHealth("ok", "")
        if not reachable:
            detail = f"unreachable ({redis.last_error or 'no answer to PING'})"
        else:
            detail = "catching up"
        if pending:
            detail = f"{detail}; {pending} enforcement record(s) pending"
        if redis.full:
            detail = f"{detail}; enforcement paused at VBG_REDIS_PENDING_MAX"
        return ComponentHealth("degraded", detail)

    def _worker_health(self) -> ComponentHealth:
        app = self.engine.app
        if app.should_stop or getattr(app, "_crash_reason", None) is not None:
            return ComponentHealth("down", "stopping")
        if app.rebalancing:
            return ComponentHealth("degraded", "rebalancing")
        if not self.engine.live.ready.is_set():
            return ComponentHealth("degraded", "loading live configuration")
        return ComponentHealth("ok", f"up {time.time() - self.engine.started_at:.0f} s")

    def stats(self) -> dict[str, Any]:
        engine = self.engine
        data = metrics.snapshot()
        consumer = engine.app.consumer
        try:
            assignment = sorted(f"{tp.topic}:{tp.partition}" for tp in consumer.assignment())
        except Exception:
            assignment = []
        data["worker"] = {
            "app_id": engine.rt.app_id,
            "role": engine.rt.role,
            "assignment": assignment,
            "held_messages": consumer.held if hasattr(consumer, "held") else 0,
            "detection_errors": engine.detection_errors,
            "raw_cdn_written": engine.raw_cdn.written,
            "raw_cdn_dropped": engine.raw_cdn.dropped,
            "config_version": engine.live.version,
            "merge_waiting": engine.processor.waiting(),
            "merge_released_early": engine.released_early,
            # input partitions the merge waits to hear from at start-up (None: unknown, so it
            # waits its whole grace period)
            "input_partitions": engine.processor.expected_sources,
        }
        return data

    # ---- live configuration -------------------------------------------------------------
    async def get_thresholds(self) -> Thresholds:
        return self.engine.live.policy.thresholds

    async def set_thresholds(self, thresholds: Thresholds, actor: str) -> Thresholds:
        return await self.engine.live.set_thresholds(thresholds, actor)

    async def list_overrides(self) -> list[Override]:
        return self.engine.live.list_overrides()

    async def add_override(self, override: Override, actor: str) -> Override:
        return await self.engine.live.add_override(override, actor)

    async def remove_override(self, override_id: str, actor: str) -> bool:
        return await self.engine.live.remove_override(override_id, actor)

    # ---- sessions and decisions ---------------------------------------------------------
    async def session(self, session_id: str) -> dict[str, Any] | None:
        engine = self.engine
        state = engine.processor.session(session_id)
        source = "worker"
        if state is None and engine.sessions is not None:
            raw = engine.sessions.get(session_id)
            if raw is not None:
                state = decode_session_record(raw).state
        recent = await self._recent_decisions(session_id)
        enforced = await self._enforced(session_id)
        if state is None and not recent and enforced is None:
            return None
        if state is not None:
            body: dict[str, Any] = {
                "session_id": session_id,
                "channel_id": state.channel_id,
                "source": source,
                "first_ts": state.first_ts,
                "last_ts": state.last_ts,
                "events": state.events,
                "score": state.score,
                "action": state.last_action or "count",
                "current_assessment": state.action,
                "reasons": list(state.reasons),
                "features": dict(state.features),
                "decisions_emitted": state.seq,
            }
        else:
            newest = recent[0] if recent else {}
            body = {
                "session_id": session_id,
                "channel_id": newest.get(
                    "channel_id", enforced.get("channel_id") if enforced else ""
                ),
                "source": "decisions",
                "score": newest.get("score", enforced.get("score") if enforced else None),
                "action": newest.get("action", enforced.get("action") if enforced else "count"),
                "reasons": list(
                    newest.get("reasons", enforced.get("reasons", []) if enforced else [])
                ),
                "features": dict(newest.get("features", {})),
            }
        body["enforced"] = enforced
        body["recent_decisions"] = recent
        return body

    async def _recent_decisions(self, session_id: str) -> list[dict[str, Any]]:
        try:
            return await self.engine.clickhouse.run(
                catalog.run,
                "session_decisions",
                {"session_id": session_id, "limit": RECENT_DECISIONS},
            )
        except (StorageError, Exception) as exc:
            log.debug("recent decisions of %s unavailable: %s", session_id, exc)
            return []

    async def _enforced(self, session_id: str) -> dict[str, Any] | None:
        redis = self.engine.redis
        try:
            raw = await redis.client.get(redis.action_key(session_id))
        except Exception:
            return None
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return None

    def subscribe_decisions(self) -> DecisionSubscription:
        return self.engine.hub.subscribe()

    async def analytics(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.engine.clickhouse.run(catalog.run, name, params)

    async def score(self, events: list[BaseEvent]) -> Decision | None:
        """Score one session's events from scratch with the live policy; nothing is stored."""
        policy = self.engine.live.policy
        detector = Detector(policy)
        last: Decision | None = None
        for event in sorted(events, key=lambda e: e.ts):
            decision = detector.process(event)
            if decision is not None:
                last = decision
        session_id = events[0].session_id
        state = detector.sessions.get(session_id)
        if state is None:
            return last
        channel = detector.channels.get(state.channel_id)
        final = decide(state, channel, policy, force=True)
        if final is None or (
            last is not None and ACTION_RANK[last.action] > ACTION_RANK[final.action]
        ):
            return last
        return final

    # ---- dead letters -------------------------------------------------------------------
    async def replay_dlq(self, limit: int) -> dict[str, int]:
        """Re-publish the next ``limit`` DLQ records not replayed before to their source topic.

        Progress is the committed offset of the ``{app_id}-dlq-replay`` group, so a second call
        continues where the first stopped. Records whose raw bytes were cut (oversized) cannot be
        replayed and are counted under ``skipped_truncated``.
        """
        engine = self.engine
        settings = engine.settings
        kwargs = settings.kafka_security.aiokafka_kwargs()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_servers,
            group_id=engine.rt.internal(DLQ_REPLAY_GROUP_SUFFIX),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kwargs,
        )
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_servers, acks="all", **kwargs)
        counts: dict[str, int] = {}
        await consumer.start()
        try:
            await producer.start()
            tps = await topic_partitions(settings.kafka_servers, engine.dlq_topic_name, **kwargs)
            if not tps:
                return counts
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                committed = await consumer.committed(tp)
                if committed is None:
                    await consumer.seek_to_beginning(tp)
            done = 0
            pending = []
            positions: dict[TopicPartition, int] = {}
            while done < limit:
                remaining = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
                if not remaining:
                    break
                batch = await consumer.getmany(
                    *remaining, timeout_ms=1000, max_records=limit - done
                )
                if not batch:
                    break
                for tp in tps:
                    # ListOffsets' end can be short of the fetch high watermark (Tansu after
                    # multi-record batches, docs/brokers.md): read up to whichever is further.
                    ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
                for tp, records in batch.items():
                    for record in records:
                        positions[tp] = record.offset + 1
                        done += 1
                        try:
                            dlq = decode_dlq(record.value)
                        except (msgspec.DecodeError, ValueError):
                            counts["skipped_undecodable"] = counts.get("skipped_undecodable", 0) + 1
                            continue
                        if dlq.raw_truncated:
                            counts["skipped_truncated"] = counts.get("skipped_truncated", 0) + 1
                            continue
                        target = engine.rt.topic(dlq.source_topic)
                        pending.append(await producer.send(target, value=dlq.raw, key=record.key))
                        counts[dlq.source_topic] = counts.get(dlq.source_topic, 0) + 1
                        metrics.DLQ_REPLAYED.labels(source_topic=dlq.source_topic).inc()
                        if done >= limit:
                            break
                    if done >= limit:
                        break
            if pending:
                await asyncio.gather(*pending)
            if positions:
                await consumer.commit(positions)
        finally:
            await producer.stop()
            await consumer.stop()
        log.info("dlq replay: %s", counts)
        return counts
