"""The worker's agents and timers; each acks only after its side effects are confirmed.

Why the acks are safe (Faust #606 and its relatives): every agent runs with concurrency 1, so
messages of a partition are acked in offset order; the body awaits the broker's acknowledgement
of everything it published (``force=True`` sends, then ``gather``) before the loop moves on and
the stream acks; and when a body fails or is cancelled (shutdown), :func:`held_on_error` holds
its messages, so the ack that Faust's stream issues from a ``finally`` is refused and the commit
cannot pass them (see ``engine.runtime.transport``). Table writes are changelog records that the
consumer flushes before every commit; they are sent only once the decisions they account for
are acknowledged (see :func:`_decide`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from faust.types import TP
from mode import CrashingSupervisor

from engine import metrics
from engine.runtime.batching import take_lingering
from engine.runtime.envelope import decode_envelope
from engine.runtime.ingest import split_batch
from engine.schemas import decode_decision, encode_decision
from engine.sinks.clickhouse import dedup_token
from engine.sinks.redis_enforcement import decode_record, encode_record, enforcement_record

if TYPE_CHECKING:
    from faust.types import Message

    from engine.runtime.app import Engine

log = logging.getLogger("engine.runtime.agents")

TICK_S = 0.25
# An agent that fails is a bug or a broken dependency: the worker stops (and its supervisor,
# systemd or the orchestrator, restarts it from the last commit) rather than Faust restarting
# the agent on the next message with the failed one held un-acked and the commit stuck.
CRASH = {"supervisor_strategy": CrashingSupervisor}


@contextmanager
def held_on_error(engine: Engine, *messages: Message) -> Iterator[None]:
    """If the body does not complete, its messages stay un-acked for the commit."""
    try:
        yield
    except BaseException:
        for message in messages:
            engine.consumer.hold(message)
        raise


class _Throttle:
    """Log the first few occurrences, then every ``every``-th."""

    def __init__(self, first: int = 5, every: int = 1000) -> None:
        self.n = 0
        self.first = first
        self.every = every

    def __call__(self) -> bool:
        self.n += 1
        return self.n <= self.first or self.n % self.every == 0


def register_agents(engine: Engine) -> None:
    app = engine.app
    rt = engine.rt
    sample = engine.raw_cdn.wants if engine.raw_cdn.share > 0 else None
    dlq_note = _Throttle()
    bad_record = _Throttle()
    held: list[Message] = []
    engine.enforcement_held = held
    ingests = rt.role in ("all", "ingest")
    decides = rt.role in ("all", "decide")

    if ingests:
        _register_ingest(engine, sample, dlq_note)
        # The sinks are stateless too: in a split worker they leave the decide process, the
        # busier of the two, all of its core.
        _register_sinks(engine, bad_record, held)
    if decides:
        _register_decide(engine, bad_record)
    if ingests:

        @app.timer(1.0, name="source-alignment")
        async def source_alignment() -> None:
            """Resume paused input partitions even when no batch arrives (a stalled source)."""
            if engine.alignment.paused:
                _align(engine)

        @app.timer(2.0, name="raw-cdn-log")
        async def raw_cdn_log() -> None:
            """The sampled CDN lines into raw_cdn_log; best effort (dropped lines are counted)."""
            lines = engine.raw_cdn.take()
            if not lines:
                return
            digest = hashlib.blake2b(
                "\n".join(e.event_id for e in lines).encode(), digest_size=12
            ).hexdigest()
            if await engine.clickhouse.write_cdn_logs(lines, f"raw|{digest}", attempts=2):
                engine.raw_cdn.written += len(lines)
            else:
                engine.raw_cdn.dropped += len(lines)


def _register_ingest(engine: Engine, sample: Any, dlq_note: _Throttle) -> None:
    app = engine.app
    max_bytes = engine.settings.max_message_bytes

    @app.agent(engine.input_topic, name="ingest", concurrency=1, **CRASH)
    async def ingest(stream: Any) -> None:
        """Validate input batches; good events to the channel topic, bad ones to ``dlq``."""
        send = engine.app.producer.send
        consumer = engine.consumer
        channel_topic = engine.channel_topic_name
        dlq_topic = engine.dlq_topic_name
        async for event in stream.events():
            message = event.message
            with held_on_error(engine, message):
                topic = engine.input_topics[message.topic]
                caught_up = _caught_up(consumer, message)
                split = split_batch(
                    topic,
                    message.partition,
                    message.value,
                    engine.partition_of,
                    max_bytes=max_bytes,
                    partitions=engine.settings.topic_partitions,
                    caught_up=caught_up,
                    sample=sample,
                )
                if split.valid:
                    engine.alignment.observe(message.tp, split.newest_ts, caught_up, time.time())
                    _align(engine)
                sent = []
                for target, payload in split.envelopes:
                    sent.append(await send(channel_topic, None, payload, target, None, None))
                for key, value, record in split.dlq:
                    sent.append(await send(dlq_topic, key, value, None, None, None))
                    metrics.DLQ_MESSAGES.labels(source_topic=topic, code=record.code).inc()
                    if dlq_note():
                        log.warning(
                            "to dlq: %s partition %d offset %s: %s: %s",
                            topic,
                            message.partition,
                            record.offset,
                            record.code,
                            record.reason[:200],
                        )
                metrics.EVENTS_IN.labels(topic=topic).inc(len(message.value))
                if split.sampled:
                    engine.raw_cdn.add(split.sampled)
                engine.consumer.hold(message)
                engine.ingest_confirmations.after(sent, [message])
                await engine.ingest_confirmations.room()


def _register_decide(engine: Engine, bad_record: _Throttle) -> None:
    app = engine.app
    rt = engine.rt

    @app.agent(engine.channel_topic, name="decide", concurrency=1, **CRASH)
    async def decide(stream: Any) -> None:
        """Merge a channel partition's events by event time, fold them into its states,
        publish decisions; a message is acked once all of its events are applied."""
        await engine.live.ready.wait()
        async for event in stream.events():
            message = event.message
            with held_on_error(engine, message):
                engine.consumer.hold(message)
                envelopes = []
                for record in message.value:
                    if not record.value:
                        continue  # a tick: only moves the wall clock of the merge
                    try:
                        envelopes.append(decode_envelope(record.value))
                    except (msgspec.DecodeError, ValueError) as exc:
                        if bad_record():
                            log.error("undecodable envelope at offset %s: %s", record.offset, exc)
                engine.processor.add(message.partition, message, envelopes, time.time())
                await _decide(engine, message.partition)
                await engine.decide_confirmations.room()

    ticked: dict[int, float] = {}

    @app.timer(TICK_S, name="merge-ticks")
    async def ticks() -> None:
        """Nudge partitions whose merge holds events while no new input arrives (quiet
        sources, the end of traffic): a tick message lets the decide agent release them."""
        now = time.time()
        for partition in engine.processor.needs_tick(now, TICK_S):
            if now - ticked.get(partition, 0.0) < TICK_S:
                continue
            ticked[partition] = now
            await engine.app.producer.send(
                engine.channel_topic_name, None, b"", partition, None, None
            )

    @app.timer(rt.viewers_every_s, name="viewer-counts")
    async def viewer_counts() -> None:
        """Raw against counted viewers per channel: Redis hash and ClickHouse channel_stats."""
        counts = engine.processor.viewer_counts()
        if not counts:
            return
        await engine.redis.write_viewers((c.channel_id, c.raw, c.counted) for c in counts)
        now = datetime.now(UTC)
        rows = [
            [
                datetime.fromtimestamp(int(c.ts // 60) * 60, UTC),
                c.channel_id,
                f"p{c.partition}",
                c.raw,
                c.counted,
                c.by_action.get("suppress", 0),
                c.by_action.get("challenge", 0),
                c.by_action.get("block", 0),
                now,
            ]
            for c in counts
            if c.ts > 0
        ]
        if rows and engine.clickhouse.healthy:
            await engine.clickhouse.write_channel_stats(rows)


def _register_sinks(engine: Engine, bad_record: _Throttle, held: list[Message]) -> None:
    app = engine.app
    rt = engine.rt

    @app.agent(engine.decisions_topic, name="clickhouse-sink", concurrency=1, **CRASH)
    async def store_decisions(stream: Any) -> None:
        """Decisions into ClickHouse in batches (full, a second old, or the flow paused for a
        moment); retries (and so backpressure) until written."""
        batches = take_lingering(
            stream, rt.clickhouse_batch, within=rt.clickhouse_within_s, idle=rt.clickhouse_idle_s
        )
        async for events in batches:
            messages = [e.message for e in events]
            with held_on_error(engine, *messages):
                spans: dict[int, tuple[int, int]] = {}
                decisions = []
                for message in messages:
                    first, last = spans.get(message.partition, (message.offset, message.offset))
                    spans[message.partition] = (
                        min(first, message.offset),
                        max(last, message.offset),
                    )
                    try:
                        decisions.append(decode_decision(message.value))
                    except (msgspec.DecodeError, ValueError) as exc:
                        if bad_record():
                            log.error("undecodable decision at offset %s: %s", message.offset, exc)
                ids = [d.decision_id for d in decisions]
                token = dedup_token(messages[0].topic, spans, ids)
                await engine.clickhouse.write_decisions(decisions, token)

    @app.agent(engine.enforcement_topic, name="redis-enforcement", concurrency=1, **CRASH)
    async def enforce(stream: Any) -> None:
        """Enforcement records into Redis; held (not acked) while Redis is down."""
        async for event in stream.events():
            message = event.message
            with held_on_error(engine, message):
                records = []
                for record in message.value:
                    try:
                        records.append(decode_record(record.value))
                    except (msgspec.DecodeError, ValueError) as exc:
                        if bad_record():
                            log.error("undecodable enforcement record: %s", exc)
                if not await engine.redis.apply(records):
                    engine.consumer.hold(message)
                    held.append(message)
                    while engine.redis.full and not engine.redis.healthy:
                        await asyncio.sleep(0.5)  # backpressure: stop taking more

    @app.timer(0.5, name="redis-catch-up")
    async def catch_up() -> None:
        """Write what was held while Redis was down, then release (ack) those messages."""
        if not engine.redis.pending and not held:
            return
        if await engine.redis.flush_pending():
            for message in held:
                engine.consumer.release(message)
            held.clear()


_early_note = _Throttle(first=3, every=100)


def _align(engine: Engine) -> None:
    """Pause input partitions too far ahead in event time, resume those back within reach
    (engine.runtime.align); left to Faust while a rebalance is under way."""
    if not engine.alignment.enabled or engine.app.rebalancing:
        return
    now = time.time()
    pause, resume = engine.alignment.update(now, engine.processor.floor(now))
    if not pause and not resume:
        return
    assigned = engine.consumer.assignment()
    # Faust's partition sets want its own TP type (aiokafka's compares equal, but is refused).
    if pause:
        engine.consumer.pause_partitions([TP(*tp) for tp in pause if tp in assigned])
        log.debug("paused %s: ahead of the slowest input partition", pause)
    if resume:
        engine.consumer.resume_partitions([TP(*tp) for tp in resume if tp in assigned])
        log.debug("resumed %s", resume)


async def _confirm_decisions(engine: Engine) -> None:
    """Wait until every decision (and enforcement record) sent so far is acknowledged."""
    pending, engine.unconfirmed = engine.unconfirmed, []
    if pending:
        await asyncio.gather(*pending)


async def _recover(engine: Engine, partition: int) -> None:
    """Before a new owner applies anything to ``partition``: undo a flush the previous owner
    did not finish, and reserve the next epoch (engine.runtime.epochs)."""
    sessions, channels, (key, value) = engine.processor.recovery(
        partition, list(engine.sessions.data.items()), list(engine.channels.data.items())
    )
    sent = await engine.session_writer.write(sessions, partition)
    sent.extend(await engine.channel_writer.write(channels, partition))
    if sent:
        await asyncio.gather(*sent)
        log.info(
            "partition %d: undid an unfinished flush of the previous owner"
            " (%d session(s), %d channel(s))",
            partition,
            len(sessions),
            len(channels),
        )
    await asyncio.gather(*await engine.channel_writer.write({key: value}, partition))
    engine.processor.recovered(partition)


def _caught_up(consumer: Any, message: Message) -> bool:
    """Did this batch reach the end of its partition? If not, more of the source is on its way
    (a backlog, or records that arrived since the fetch) and the merge waits for it."""
    try:
        highwater = consumer.highwater(message.tp)
    except Exception:
        return True
    return highwater is None or message.value[-1].offset + 1 >= highwater  # type: ignore[index]


async def _decide(engine: Engine, partition: int) -> None:
    """Apply what the merge of ``partition`` releases now, publish the decisions, write the
    changed states; messages whose events are all applied are acked once that is durable."""
    if engine.processor.needs_recovery(partition):
        await _recover(engine, partition)
    outcome = engine.processor.run(partition, engine.live.policy, time.time())
    send = engine.app.producer.send
    sent = []
    if outcome.decisions:
        now = time.time()
        decisions_topic = engine.decisions_topic_name
        enforcement_topic = engine.enforcement_topic_name
        records = []
        for decision, _ in outcome.decisions:
            decision = msgspec.structs.replace(decision, decided_at=now)
            key = decision.session_id.encode()
            record = enforcement_record(decision)
            records.append(record)
            sent.append(
                await send(decisions_topic, key, encode_decision(decision), None, None, None)
            )
            sent.append(await send(enforcement_topic, key, encode_record(record), None, None, None))
            engine.hub.publish(decision)
            metrics.DECISIONS.labels(action=decision.action).inc()
        # Redis at once (the fast path); the enforcement topic stays the durable path.
        engine.fast_redis.submit(records)
        for _, source_ts in outcome.decisions:
            metrics.PROCESSING_LATENCY.observe(max(0.0, now - source_ts))
        engine.unconfirmed.extend(sent)
    if outcome.sessions or outcome.channels or outcome.marker is not None or outcome.completed:
        # The states about to be written mark events as applied: were they to reach the
        # changelog before the decisions reach the broker, a kill -9 in between would lose the
        # decisions for good (the restarted worker skips the applied events). So every decision
        # sent so far is acknowledged first; the other way round a crash only repeats
        # decisions, with the same ids, which ClickHouse's ReplacingMergeTree and Redis'
        # idempotent writes absorb. Awaited once per flush, not per batch: a broker round trip
        # per batch was the decide agent's main wait in live traffic.
        await _confirm_decisions(engine)
    # One flush epoch (engine.runtime.epochs): the states, durable, then the marker that
    # commits them; only then are the messages whose events they hold acked.
    states = await engine.session_writer.write(outcome.sessions, partition)
    states.extend(await engine.channel_writer.write(outcome.channels, partition))
    if states:
        await asyncio.gather(*states)
    if outcome.marker is not None:
        key, value = outcome.marker
        await asyncio.gather(*await engine.channel_writer.write({key: value}, partition))
    engine.decide_confirmations.after([], outcome.completed)  # type: ignore[arg-type]
    if outcome.released_early:
        metrics.MERGE_RELEASED_EARLY.inc(outcome.released_early)
        engine.released_early += outcome.released_early
        if _early_note():
            log.warning(
                "partition %d: %d event(s) applied ahead of an input partition still catching"
                " up (merge full or a source silent too long); order may differ from replay"
                " (%d so far)",
                partition,
                outcome.released_early,
                engine.released_early,
            )
    if outcome.newest_ts > engine.newest_ts:
        engine.newest_ts = outcome.newest_ts
        metrics.LAST_EVENT_TS.set(outcome.newest_ts)
    if engine.processor.sweep_due(partition):
        stale_s, stale_c = engine.processor.sweep(
            partition,
            list(engine.sessions.data.items()),
            list(engine.channels.data.items()),
        )
        await engine.session_writer.write(dict.fromkeys(stale_s), partition)
        await engine.channel_writer.write(dict.fromkeys(stale_c), partition)
        if stale_s or stale_c:
            log.debug(
                "partition %d: dropped %d idle session(s), %d idle channel(s)",
                partition,
                len(stale_s),
                len(stale_c),
            )
