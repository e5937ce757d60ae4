"""Faust's aiokafka transport with the two waits on its consumer path removed, and #606 guarded.

What waits (measured on Tansu, 2 cores, one partition, 355-byte JSON; raw aiokafka 290k msg/s,
a stock Faust agent 3-6k msg/s at ~20 % CPU):

1. **The fetch long-poll blocks the next fetch.** aiokafka keeps one fetch request in flight per
   broker, and only asks for a partition again once its previous records were consumed. While
   Faust's agent works through a batch, aiokafka's fetch loop sends a request for the *other*
   assigned partitions only (changelogs, the assignor topic, idle inputs), and the broker holds
   it for ``fetch_max_wait_ms``, which Faust hard-codes to 1500 ms. When the agent is done, the
   busy partition cannot be fetched until that long-poll returns: one batch per ~1.5 s, so 3.5k
   to 15k records/s whatever the buffers. Instrumented, ``getmany`` took 0.6-0.95 s on most
   calls while the broker had 100k records waiting. Fix: while records flow the long-poll is
   50 ms; when a fetch comes back empty it returns to ``fetch_max_wait_ms`` (a setting, default
   100 ms), so an idle worker does not poll the broker hundreds of times a second. (With a
   fixed 100 ms the engine still spent most of its time waiting: 116 ms per fetch, agents idle
   ~45 %.) Not shorter: Tansu treats the long-poll as its time budget for reading the
   partitions of one fetch, and at 5 ms it answered the busiest input partitions (cdn-logs,
   ~1 MB behind) with no records in ~95 % of fetches, so they fell seconds behind in live
   traffic; at 50 ms every fetch carries them. Apache Kafka answers as soon as records exist,
   whatever the long-poll.
2. **Every message takes several event-loop round trips.** ``Consumer._drain_messages`` delivers
   each record with ``wait_first(callback(message), suspend_flow.wait())``: four new tasks, an
   ``asyncio.wait`` and three cancellations per message, then the conductor's per-message decode
   through the serializer registry (settings lookups per call), the stream queue and the stream
   iterator. About 60-90 µs of CPU per message, a 12-16k/s ceiling on one core. Fix, for topics
   registered as *batch topics*: the records one fetch returned for a partition are delivered as
   **one** :class:`BatchMessage` whose value is the list of records, so the whole Faust path
   (conductor, queue, stream, sensors, ack) runs once per batch instead of once per record.
   Acking a batch acks every offset it covers, so commits stay exact. Other topics keep
   per-message delivery, minus the per-message ``wait_first`` (flow suspension is checked
   before each delivery instead).

3. **One paused partition stalls every fetch.** aiokafka sends no fetch to a broker while any
   of its partitions still holds records the application has not taken, for up to
   ``prefetch_backoff`` (100 ms). Faust pauses a partition whose stream buffer is under
   pressure, and its records then sit in aiokafka's buffer: on a single broker a busy ingest
   agent stopped the decide agent's own input from being fetched, 100 ms at a time (the worker
   at ~55 % CPU, ``getmany`` ~100 ms per call). Fix: the backoff is 5 ms here, so the other
   partitions are fetched on.

With these, a trivial agent on the same setup consumes at raw-consumer speed; see
``benchmarks/bench_engine.py`` for the engine end to end.

Faust #606 (an offset committed past a message still in flight): ``Consumer._new_offset``
commits the first run of consecutive acked offsets and only refuses when the run starts *more
than one* past the committed offset, so with message N in flight and N+1.. acked it commits past
N; with no committed offset yet it does not check at all. This consumer never commits past the
lowest un-acked message of the current generation, tracked or still waiting in a stream queue,
whatever the acks say. The engine also avoids out-of-order acks by construction: every acking
stream has concurrency 1, values are raw bytes (so the conductor never acks a message early on
a decode error), and each agent acks a batch only after its side effects (published records,
sink writes, durable state) are confirmed.

Three more ways Faust loses a message around a restart, each found by ``kill -9`` tests
(``tests/integration/test_worker_crash.py``) and closed here:

- Faust's compiled stream iterator (``faust._cython.streams``) acks an event by inlining the
  consumer's bookkeeping instead of calling ``Consumer.ack``, so a message an agent *held* was
  acked anyway when its body returned: the decide agent's events, still in the merge and in no
  durable state, were committed. :func:`configure` switches streams to Faust's Python iterator,
  which acks through ``Consumer.ack``; with batch delivery it runs once per batch.
- Until recovery ends, a stream skips (and acks) what reaches it, and flow control's final
  ``resume()`` empties every stream queue. Records fetched meanwhile were gone, and the commit
  passed them. Nothing but table changelogs goes to a stream while a rebalance is under way
  (:meth:`Consumer._streams_take`); and whatever a queue clearing still drops (the resume of
  standby reading comes after the rebalance ends) is fetched again from the first message no
  agent took (:meth:`Consumer._queues_cleared`).
- Table recovery reads each changelog up to ListOffsets' end offset, which Tansu under-reports
  after a multi-record batch (docs/brokers.md, section 1): a restarted worker lost its
  predecessor's last state writes. :meth:`Consumer.highwaters` takes the fetch high watermark.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import faust.streams as faust_streams
from faust.serializers.schemas import Schema
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, AppT, ConsumerMessage, Message
from faust.types.tuples import ack_lock
from faust.utils.functional import consecutive_numbers
from mode.utils.futures import notify

from engine.kafkameta import exact_end_offsets

log = logging.getLogger("engine.runtime.transport")

GETMANY_TIMEOUT_S = 0.1  # an idle worker asks the consumer thread for records 10 times a second
PREFETCH_BACKOFF_S = 0.005
BUSY_LONG_POLL_MS = 50  # see point 1 of the module docstring


class BatchMessage(ConsumerMessage):
    """The records one fetch returned for one partition, as a single Faust message.

    ``offset`` is the first offset the batch covers and ``last_offset`` the last; ``value`` is
    the list of aiokafka ``ConsumerRecord`` objects (key, value, offset, timestamp...).
    """

    __slots__ = ("last_offset",)

    def __init__(self, tp: TP, first: int, records: Sequence[Any], generation_id: int) -> None:
        last = records[-1]
        super().__init__(
            last.topic,
            last.partition,
            first,
            last.timestamp / 1000.0 if last.timestamp is not None else 0.0,
            last.timestamp_type,
            None,
            None,
            records,  # type: ignore[arg-type]
            None,
            0,
            sum(r.serialized_value_size for r in records),
            tp,
            generation_id=generation_id,
        )
        self.last_offset: int = last.offset

    @property
    def records(self) -> Sequence[Any]:
        return self.value  # type: ignore[return-value]


class RawSchema(Schema):
    """Key and value stay the bytes (or record list) they arrived as: no registry lookups."""

    def compile(self, app: AppT, **kwargs: Any):  # type: ignore[override]
        create_event = app.create_event

        async def decode(message: Message, *, propagate: bool = False) -> Any:
            return create_event(message.key, message.value, message.headers, message)

        return decode


class Consumer(faust_aiokafka.Consumer):
    """aiokafka consumer with batch delivery, no per-message ``wait_first``, and #606 guarded."""

    #: Topic names delivered as :class:`BatchMessage` (see :func:`configure`).
    batch_topics: ClassVar[frozenset[str]] = frozenset()
    #: Sink topics: a rebalance does not wait for their in-flight messages (a sink may be
    #: retrying against a dependency that is down); the commit cap keeps them safe instead.
    detached_topics: ClassVar[frozenset[str]] = frozenset()
    thread_class: ClassVar[type[ConsumerThread]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: set[Message] = set()
        # Delivered to a stream's queue, not yet taken by its agent (see _queues_cleared).
        self._queued: set[Message] = set()
        self._rewind: dict[TP, int] = {}
        flow_control = self.app.flow_control
        clear = flow_control.clear

        def clear_and_rewind() -> None:
            clear()
            self._queues_cleared()

        flow_control.clear = clear_and_rewind  # resume() calls it too

    def hold(self, message: Message) -> None:
        """Refuse to ack ``message`` until :meth:`release`: it stays in flight for the commit.

        Used when a side effect did not happen (Redis down, the worker stopping mid-batch):
        whatever acks the message meanwhile (a stream's ``finally``), its offset is not committed.
        """
        self._held.add(message)

    def release(self, message: Message) -> bool:
        """The side effect happened: ack ``message`` for real."""
        self._held.discard(message)
        message.acked = False
        return self.ack(message)

    def drop_held(self, messages: Iterable[Message]) -> None:
        """Forget held messages without acking them (their partition was revoked)."""
        for message in messages:
            self._held.discard(message)

    @property
    def held(self) -> int:
        return len(self._held)

    async def perform_seek(self) -> None:
        self._rewind.clear()  # every partition goes back to its commit: nothing to redo
        await super().perform_seek()

    def _queues_cleared(self) -> None:
        """Faust empties every stream queue when flow control resumes (the end of each
        recovery, the start of reading standbys) and on revocation. Messages still waiting
        there were never tracked, so the commit would pass them and they were lost (seen
        after a restart: the first batches of the channel backlog, delivered while recovery
        finished, never reached the decide agent). Fetch them again from the lowest."""
        for message in self._queued:
            if not message.tracked and not message.acked:
                tp = message.tp
                offset = self._rewind.get(tp)
                if offset is None or message.offset < offset:
                    self._rewind[tp] = message.offset
        self._queued.clear()

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        """End offsets for table recovery that are right on Tansu too (docs/brokers.md, 1).

        Faust restores a table by reading its changelog up to these; ListOffsets alone
        stops Tansu short of the newest batch's later records, so a restarted worker
        silently lost the state writes of its predecessor's last flush, and with them the
        events those writes had applied (already committed, so never read again).
        """
        ends = await super().highwaters(*partitions)
        if self.in_transaction or not any(ends.values()):
            return ends
        probe = self._thread._create_client_consumer(self.transport)
        await probe.start()
        try:
            exact = await exact_end_offsets(probe, ends)  # type: ignore[arg-type]
        finally:
            await probe.stop()
        return exact  # type: ignore[return-value]

    def _new_consumer_thread(self) -> ConsumerThread:
        return self.thread_class(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - runs in worker
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                records, active = await self._wait_next_records(GETMANY_TIMEOUT_S)
                if self.should_stop:
                    return
                self._thread.tune_long_poll(busy=bool(records))
                if not records:
                    await asyncio.sleep(0)
                    continue
                if not self.flow_active:
                    # Fetched during a rebalance: go back to the committed offsets, as
                    # Consumer.getmany does, so nothing fetched now is lost.
                    await self.perform_seek()
                    continue
                await self._deliver_all(records, active)
                await asyncio.sleep(0)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _deliver_all(self, records: dict[TP, list[Any]], active: set[TP] | None) -> None:
        """Deliver fetched records; whatever is not delivered is fetched again.

        aiokafka's position is already past every record it returned, so records that are
        not handed on (flow suspended by a rebalance, partition paused or revoked meanwhile)
        must be sought back to, or the next fetch starts after them and the next ack covers
        them: a silent loss. (Faust's own getmany drops them too and relies on a later seek
        to the committed offsets; that seek does not always come.)
        """
        app = self.app
        generation_id = app.consumer_generation_id
        read_offset = self._read_offset
        batch_topics = self.batch_topics
        refetch: dict[TP, int] = {}

        def again(tp: TP, offset: int) -> None:
            refetch[tp] = min(offset, refetch.get(tp, offset))

        stopped = False
        for tp, recs in records.items():
            if not recs:
                continue
            if stopped or app.consumer_generation_id != generation_id:
                stopped = True
                again(tp, recs[0].offset)
                continue
            if not self._streams_take(tp):
                again(tp, recs[0].offset)
                continue
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                again(tp, recs[0].offset)
                continue
            app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            r_offset = read_offset[tp]
            if r_offset is not None and recs[0].offset < r_offset:
                recs = [r for r in recs if r.offset >= r_offset]
                if not recs:
                    continue
            if tp.topic in batch_topics:
                first = recs[0].offset
                if r_offset is not None and r_offset + 1 < first:
                    first = r_offset + 1  # cover offsets that hold no record (compaction, markers)
                if not await self._deliver(BatchMessage(tp, first, recs, generation_id)):
                    stopped = True
                    again(tp, recs[0].offset)
                    continue
                read_offset[tp] = recs[-1].offset
            else:
                for record in recs:
                    offset = record.offset
                    r_offset = read_offset[tp]
                    gap = r_offset is not None and offset - r_offset > 1
                    if gap and app.topics.acks_enabled_for(record.topic):
                        await self._add_gap(tp, r_offset + 1, offset - 1)
                    if not await self._deliver(self._to_message(tp, record)):
                        stopped = True
                        again(tp, offset)
                        break
                    read_offset[tp] = offset
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
        rewind, self._rewind = self._rewind, {}
        for tp, offset in rewind.items():
            log.info("%s[%d]: fetching again from offset %d", tp.topic, tp.partition, offset)
            again(tp, offset)
        for tp, offset in refetch.items():
            if tp in self.assignment():
                await self.seek(tp, offset)
        if refetch and app.rebalancing:
            await asyncio.sleep(0.02)  # recovery is finishing: do not spin on the refetch

    def _streams_take(self, tp: TP) -> bool:
        """May records of ``tp`` go to a stream now?

        Not while a rebalance is under way (until recovery has ended, streams skip what
        reaches them, and flow control's final resume empties their queues), except table
        changelogs, which recovery reads then; and not past records that must be fetched
        again first (:meth:`_queues_cleared`).
        """
        if tp in self._rewind:
            return False
        app = self.app
        if app.rebalancing or not app.flow_control.is_active():
            return tp.topic in app.tables.changelog_topics
        return True

    async def _deliver(self, message: Message) -> bool:
        """Hand one message to the conductor; False when flow was suspended (rebalance)."""
        if self.suspend_flow.is_set() or not self.flow_active:
            return False
        if not self._streams_take(message.tp):
            return False
        try:
            await self.callback(message)
            if not message.tracked and self.app.topics.acks_enabled_for(message.topic):
                self._queued.add(message)
        except asyncio.CancelledError:
            # A rebalance clears the stream queues and cancels a put waiting for room.
            task = asyncio.current_task()
            if self.suspend_flow.is_set() and task is not None and not task.cancelling():
                return False
            raise
        return True

    def ack(self, message: Message) -> bool:
        if message in self._held:
            return False
        if type(message) is not BatchMessage:
            return super().ack(message)
        with ack_lock:
            if message.acked:
                return False
            message.acked = True
            try:
                if not self.app.topics.acks_enabled_for(message.topic):
                    return False
                tp = message.tp
                committed = self._committed_offset[tp]
                first = message.offset if committed is None else max(message.offset, committed)
                acked_index = self._acked_index[tp]
                new = [o for o in range(first, message.last_offset + 1) if o not in acked_index]
                self._unacked_messages.discard(message)
                if not new:
                    return False
                acked_index.update(new)
                self._acked[tp].extend(new)
                self._n_acked += len(new)
                return True
            finally:
                notify(self._waiting_for_ack)

    async def wait_empty(self) -> None:
        """Wait for in-flight messages before a rebalance or stop, except sink topics' and held
        ones: those cannot finish while a dependency is down, and the commit never passes them."""
        while not self.should_stop and self._blocking_unacked():
            await self.commit()
            if not self._blocking_unacked():
                break
            await self._wait_for_ack(timeout=1)
            self._clean_unacked_messages()
        await self.commit_and_end_transactions()

    def _blocking_unacked(self) -> bool:
        detached = self.detached_topics
        held = self._held
        return any(
            not m.acked and m.topic not in detached and m not in held
            for m in list(self._unacked_messages)
        )

    def _lowest_in_flight(self, tp: TP) -> int | None:
        generation = self.app.consumer_generation_id
        lowest = None
        queued = self._queued
        for message in list(queued):
            if message.tracked or message.acked:
                queued.discard(message)  # taken by its agent: tracked as unacked from now
        for message in [*self._unacked_messages, *queued]:
            if (
                message.tp == tp
                and not message.acked
                and message.generation_id == generation
                and (lowest is None or message.offset < lowest)
            ):
                lowest = message.offset
        return lowest

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit for ``tp``: Faust's rule, capped below any in-flight message."""
        acked = self._acked[tp]
        if not acked:
            return None
        gaps = self._gap[tp]
        if gaps:
            top = max(acked)
            spans = sorted(gaps.overlap(0, top), key=lambda iv: iv.begin)
            if spans:
                filler = [o for iv in spans for o in range(iv.begin, iv.end)]
                index = self._acked_index[tp]
                acked.extend(o for o in filler if o not in index)
                index.update(filler)
                gaps.chop(0, max(filler[-1], top) + 1)
        acked.sort()
        committed = self._committed_offset[tp]
        if committed is not None and acked[0] - committed > 1:
            return None  # a gap at the head: something before the acked run is not done
        run = next(consecutive_numbers(acked))
        lowest = self._lowest_in_flight(tp)
        if lowest is not None:
            run = [o for o in run if o < lowest]  # never past an in-flight message (#606)
            if not run:
                return None
        del acked[: len(run)]
        self._acked_index[tp].difference_update(run)
        return run[-1] + 1


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The consumer thread with a configurable fetch long-poll (Faust hard-codes 1500 ms) and a
    short prefetch backoff (see the module docstring, point 3)."""

    fetch_max_wait_ms: ClassVar[int] = 100
    prefetch_backoff_s: ClassVar[float] = PREFETCH_BACKOFF_S

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        fetcher = getattr(self._consumer, "_fetcher", None)
        if fetcher is not None and hasattr(fetcher, "_prefetch_backoff"):
            fetcher._prefetch_backoff = self.prefetch_backoff_s

    def tune_long_poll(self, busy: bool) -> None:
        """Short long-polls while records flow, the configured one when idle (point 1)."""
        fetcher = getattr(self._consumer, "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = BUSY_LONG_POLL_MS if busy else self.fetch_max_wait_ms


Consumer.thread_class = ConsumerThread


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


def configure(
    batch_topics: Iterable[str], detached_topics: Iterable[str], fetch_max_wait_ms: int
) -> type[Transport]:
    """A Transport class whose consumer batches ``batch_topics``, does not wait for
    ``detached_topics`` on rebalance, and long-polls for at most ``fetch_max_wait_ms``.
    Classes, not globals, so two apps in one process do not interfere (the one global: streams
    use Faust's Python iterator, whose acks go through ``Consumer.ack``; see the module doc)."""
    faust_streams._CStreamIterator = None
    thread_cls = type(
        "EngineConsumerThread", (ConsumerThread,), {"fetch_max_wait_ms": int(fetch_max_wait_ms)}
    )
    consumer_cls = type(
        "EngineConsumer",
        (Consumer,),
        {
            "batch_topics": frozenset(batch_topics),
            "detached_topics": frozenset(detached_topics),
            "thread_class": thread_cls,
        },
    )
    return type("EngineTransport", (Transport,), {"Consumer": consumer_cls})
