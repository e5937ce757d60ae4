"""Where simulated traffic goes: envelope files, label files, Kafka topics; progress on stderr.

Files get one envelope per line, ``{"topic":"cdn-logs","value":{...}}``, in global event-time
order. Kafka gets the bare value on the event's topic with the session id as key (so a session
stays on one partition). ``rate`` paces output in real time (events per wall-clock second).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO

import msgspec

from engine.simulate.emit import TOPICS
from engine.simulate.simulation import Label, Simulation

ENVELOPE_PREFIX: tuple[bytes, ...] = tuple(f'{{"topic":"{t}","value":'.encode() for t in TOPICS)
_encode_label = msgspec.json.Encoder().encode
_BATCH = 4096


class LabelWriter:
    """Labels as JSON lines, one per session, written as sessions finish."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self.stream = stream
        self.count = 0

    def __call__(self, label: Label) -> None:
        self.count += 1
        if self.stream is not None:
            self.stream.write(_encode_label(label) + b"\n")


class Progress:
    """A line on stderr every few seconds: events written, share of event time covered, rate."""

    def __init__(self, start_ts: float, duration: float, enabled: bool, every: float = 2.0) -> None:
        self.start_ts = start_ts
        self.duration = duration
        self.enabled = enabled
        self.every = every
        self.t0 = time.monotonic()
        self.next_at = self.t0 + every

    def update(self, events: int, ts: float) -> None:
        now = time.monotonic()
        if not self.enabled or now < self.next_at:
            return
        self.next_at = now + self.every
        pct = 100.0 * (ts - self.start_ts) / self.duration
        rate = events / max(now - self.t0, 1e-9)
        print(
            f"simulate: {events:,} events, {pct:5.1f}% of event time, {rate:,.0f} events/s",
            file=sys.stderr,
            flush=True,
        )

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def _paced(
    events: Iterator[tuple[float, int, str, bytes]], rate: float
) -> Iterator[tuple[float, int, str, bytes]]:
    """Hold events back so that no more than ``rate`` per wall-clock second come out."""
    t0 = time.monotonic()
    step = max(1, int(rate / 50))
    for i, item in enumerate(events):
        if i % step == 0:
            ahead = t0 + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        yield item


def write_files(
    sim: Simulation,
    out: IO[bytes] | None,
    progress: Progress,
    rate: float = 0.0,
) -> int:
    """Run the simulation into ``out``; returns the number of events written."""
    events: Iterable[tuple[float, int, str, bytes]] = sim.events()
    if rate > 0:
        events = _paced(iter(events), rate)
    prefixes = ENVELOPE_PREFIX
    buf: list[bytes] = []
    n = 0
    for ts, topic, _key, value in events:
        buf.append(prefixes[topic])
        buf.append(value)
        buf.append(b"}\n")
        n += 1
        if n % _BATCH == 0:
            if out is not None:
                out.write(b"".join(buf))
                if rate > 0:
                    out.flush()
            buf.clear()
            progress.update(n, ts)
    if out is not None and buf:
        out.write(b"".join(buf))
    return n


async def _ensure_topics(
    bootstrap: str, topics: list[str], partitions: int, security: dict
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t, num_partitions=partitions, replication_factor=1)
            for t in topics
            if t not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def write_kafka(
    sim: Simulation,
    bootstrap: str,
    security: dict,
    topic_prefix: str,
    partitions: int,
    progress: Progress,
    rate: float = 0.0,
    out: IO[bytes] | None = None,
) -> int:
    """Produce every event to Kafka (and optionally tee the envelopes to ``out``)."""
    from aiokafka import AIOKafkaProducer

    topics = [topic_prefix + t for t in TOPICS]
    await _ensure_topics(bootstrap, topics, partitions, security)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=262_144, acks=1, **security
    )
    await producer.start()
    n = 0
    try:
        events: Iterator[tuple[float, int, str, bytes]] = sim.events()
        t0 = time.monotonic()
        pending = []
        buf: list[bytes] = []
        for ts, topic, key, value in events:
            pending.append(await producer.send(topics[topic], value=value, key=key.encode()))
            if out is not None:
                buf.append(ENVELOPE_PREFIX[topic] + value + b"}\n")
            n += 1
            if n % 2000 == 0:
                await asyncio.gather(*pending)
                pending.clear()
                if out is not None:
                    out.write(b"".join(buf))
                    buf.clear()
                progress.update(n, ts)
            if rate > 0 and n % max(1, int(rate / 50)) == 0:
                ahead = t0 + n / rate - time.monotonic()
                if ahead > 0:
                    await producer.flush()
                    await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
        if out is not None and buf:
            out.write(b"".join(buf))
    finally:
        await producer.stop()
    return n
