"""Live configuration (thresholds and overrides), shared by every worker through a compacted topic.

Records on ``{app_id}-config`` (one partition, ``cleanup.policy=compact``):

- key ``thresholds`` -> JSON ``{"thresholds": {...}, "updated_by", "updated_at"}``;
- key ``override/{id}`` -> JSON of an ``engine.detect.Override``; a tombstone (null value)
  removes it.

One key per override means two operators changing different overrides at once never overwrite
each other (no read-modify-write), and compaction keeps exactly the live state.

Every worker tails the whole topic with its own group-less consumer and rebuilds the
``engine.detect.Policy`` the decide agent uses on its next batch, so a change made through any
worker's API is live on all of them within a poll interval. A write returns once this worker has
read it back. (A Faust GlobalTable would do the same job, but faust-streaming still has open
reports of global tables not updating on every instance, #283; a plain tail is simple to trust.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from engine.detect import DEFAULT_THRESHOLDS, Override, Policy, Thresholds

log = logging.getLogger("engine.runtime.config")
audit_log = logging.getLogger("engine.audit")

THRESHOLDS_KEY = b"thresholds"
OVERRIDE_PREFIX = b"override/"
EXPIRED_OVERRIDE_GRACE_S = 86400.0  # expired overrides older than this are ignored on load


class ThresholdsRecord(msgspec.Struct, kw_only=True):
    thresholds: Thresholds
    updated_by: str = ""
    updated_at: float = 0.0


_JSON = msgspec.json.Encoder()
_THRESHOLDS = msgspec.json.Decoder(ThresholdsRecord)
_OVERRIDE = msgspec.json.Decoder(Override)


class LiveConfig:
    """The tail of the config topic, the current Policy, and writes that read themselves back."""

    def __init__(self, topic: str, bootstrap: list[str], kafka_kwargs: dict[str, Any]) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._kafka_kwargs = kafka_kwargs
        self._tp = TopicPartition(topic, 0)
        self.thresholds = ThresholdsRecord(thresholds=DEFAULT_THRESHOLDS)
        self.overrides: dict[str, Override] = {}
        self.policy = Policy(thresholds=DEFAULT_THRESHOLDS)
        self.version = 0  # bumps on every applied record
        self.position = 0  # next offset to read
        self.ready = asyncio.Event()
        self.last_poll_ok: float | None = None
        self._changed = asyncio.Condition()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=200,
            **self._kafka_kwargs,
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, acks="all", linger_ms=0, **self._kafka_kwargs
        )
        await self._consumer.start()
        await self._producer.start()
        self._consumer.assign([self._tp])
        await self._consumer.seek_to_beginning(self._tp)
        end = (await self._consumer.end_offsets([self._tp]))[self._tp]
        self._task = asyncio.create_task(self._tail(end), name="live-config-tail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for client in (self._consumer, self._producer):
            if client is not None:
                await client.stop()

    async def wait_ready(self, timeout: float) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def _tail(self, end_at_start: int) -> None:
        assert self._consumer is not None
        if end_at_start == 0:
            self.ready.set()
        while True:
            try:
                batch = await self._consumer.getmany(self._tp, timeout_ms=250)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("config topic %s: %s", self.topic, exc)
                await asyncio.sleep(1.0)
                continue
            self.last_poll_ok = time.monotonic()
            records = batch.get(self._tp, [])
            for record in records:
                self._apply(record.key, record.value)
                self.position = record.offset + 1
            if records:
                self._rebuild()
                async with self._changed:
                    self._changed.notify_all()
            if not self.ready.is_set() and self.position >= end_at_start:
                self.ready.set()
                log.info(
                    "live config loaded: thresholds %s, %d override(s)",
                    _fmt(self.policy.thresholds),
                    len(self.overrides),
                )

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            if key == THRESHOLDS_KEY:
                if value is not None:
                    record = _THRESHOLDS.decode(value)
                    record.thresholds.validate()
                    self.thresholds = record
            elif key.startswith(OVERRIDE_PREFIX):
                override_id = key[len(OVERRIDE_PREFIX) :].decode()
                if value is None:
                    self.overrides.pop(override_id, None)
                else:
                    override = _OVERRIDE.decode(value)
                    expired = override.expires_at is not None and (
                        override.expires_at < time.time() - EXPIRED_OVERRIDE_GRACE_S
                    )
                    if expired:
                        self.overrides.pop(override_id, None)
                    else:
                        self.overrides[override_id] = override
        except (msgspec.DecodeError, ValueError, UnicodeDecodeError) as exc:
            log.warning("config topic %s: ignoring bad record %r: %s", self.topic, key, exc)
        self.version += 1

    def _rebuild(self) -> None:
        overrides = tuple(
            sorted(self.overrides.values(), key=lambda o: (o.created_at, o.override_id))
        )
        self.policy = Policy(thresholds=self.thresholds.thresholds, overrides=overrides)

    async def _put(self, key: bytes, value: bytes | None, timeout: float = 15.0) -> None:
        assert self._producer is not None
        metadata = await self._producer.send_and_wait(self.topic, value=value, key=key, partition=0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while self.position <= metadata.offset:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"config change not read back from {self.topic}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue

    async def set_thresholds(self, thresholds: Thresholds, actor: str) -> Thresholds:
        thresholds.validate()
        record = ThresholdsRecord(thresholds=thresholds, updated_by=actor, updated_at=time.time())
        await self._put(THRESHOLDS_KEY, _JSON.encode(record))
        audit_log.info(
            "thresholds changed by %s: %s -> %s",
            actor,
            _fmt(self.policy.thresholds),
            _fmt(thresholds),
        )
        return self.thresholds.thresholds

    async def add_override(self, override: Override, actor: str) -> Override:
        await self._put(OVERRIDE_PREFIX + override.override_id.encode(), _JSON.encode(override))
        audit_log.info(
            "override %s added by %s: %s %s=%s (%s)",
            override.override_id,
            actor,
            override.verdict,
            override.scope,
            override.value,
            override.reason,
        )
        return self.overrides.get(override.override_id, override)

    async def remove_override(self, override_id: str, actor: str) -> bool:
        if override_id not in self.overrides:
            return False
        await self._put(OVERRIDE_PREFIX + override_id.encode(), None)
        audit_log.info("override %s removed by %s", override_id, actor)
        return True

    def list_overrides(self, now: float | None = None) -> list[Override]:
        now = time.time() if now is None else now
        return [o for o in self.policy.overrides if o.expires_at is None or o.expires_at > now]


def _fmt(t: Thresholds) -> str:
    return f"suppress={t.suppress} challenge={t.challenge} block={t.block}"
