"""Enforcement in Redis (DESIGN §4): per-session action keys, pub/sub, channel viewer counts.

- ``{prefix}action:{session_id}`` -> JSON ``{action, score, reasons, ts}`` with a TTL;
- every applied change is published on ``{prefix}enforcement`` (the full record as JSON);
- ``{prefix}channel:{channel_id}:viewers`` -> hash ``raw``, ``counted``, ``updated_at``.

Writes are idempotent and order-proof: a Lua script sets an action key only if the record is
not older (event time ``ts``) than what the key holds, so a replayed or reordered record never
rolls a session back, and it publishes only what it set. A record identical to what the key
holds only refreshes the TTL and is not announced again: the decide agent writes each record
at once (:class:`FastPath`, the low-latency path) and the enforcement agent writes it again
from the ``enforcement`` topic (the durable path that catches up after an outage or a crash),
and subscribers hear of it once.

Redis down: :meth:`RedisEnforcer.apply` keeps the newest record per session in a pending map and
reports failure; the caller holds those Kafka messages un-acked (the commit cannot pass them),
and :meth:`flush_pending` writes the pending map once Redis answers again, then the caller
releases them. Decisions keep flowing to Kafka and ClickHouse meanwhile; health says
``degraded`` until Redis answers *and* nothing is pending.

Memory is bounded by ``pending_max`` *records taken since the outage began* (not sessions: the
held Kafka messages keep every record they carry alive, so counting sessions alone would let a
long outage over few sessions grow without limit). At the bound :attr:`RedisEnforcer.full` is
true and the caller stops taking enforcement records: they wait in the ``enforcement`` topic
(Kafka is the buffer), Faust pauses those partitions once their stream buffer fills, and every
other agent, and so every decision, keeps flowing. Nothing is dropped; a worker that dies
meanwhile restarts from the commit, which never passed a held message, and the writes are
idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from engine import metrics
from engine.schemas import Decision

log = logging.getLogger("engine.sinks.redis")

# KEYS: action keys; ARGV: ttl, pub/sub channel, then per key its value, ts and announcement.
# One call for many records: packing a command per record cost the client about 25 us each.
SET_IF_NEWER = """
local ttl = ARGV[1]
local channel = ARGV[2]
local applied = 0
for i = 1, #KEYS do
  local value = ARGV[3 * i]
  local current = redis.call('GET', KEYS[i])
  if current == value then
    redis.call('EXPIRE', KEYS[i], ttl)
  else
    local older = false
    if current then
      local ok, doc = pcall(cjson.decode, current)
      older = ok and type(doc) == 'table' and tonumber(doc['ts']) ~= nil
        and tonumber(doc['ts']) > tonumber(ARGV[3 * i + 1])
    end
    if not older then
      redis.call('SET', KEYS[i], value, 'EX', ttl)
      redis.call('PUBLISH', channel, ARGV[3 * i + 2])
      applied = applied + 1
    end
  end
end
return applied
"""
SCRIPT_CHUNK = 200  # records per script call: each call holds Redis for its whole loop


class EnforcementRecord(msgspec.Struct, kw_only=True):
    """One session's enforced action: the value of the ``enforcement`` topic (key session_id)."""

    session_id: str
    channel_id: str
    action: str
    score: float
    reasons: tuple[str, ...]
    ts: float
    decision_id: str
    decided_at: float


class _ActionValue(msgspec.Struct):
    action: str
    score: float
    reasons: tuple[str, ...]
    ts: float


_JSON = msgspec.json.Encoder()
_RECORD = msgspec.json.Decoder(EnforcementRecord)


def enforcement_record(decision: Decision) -> EnforcementRecord:
    return EnforcementRecord(
        session_id=decision.session_id,
        channel_id=decision.channel_id,
        action=decision.action,
        score=decision.score,
        reasons=decision.reasons,
        ts=decision.ts,
        decision_id=decision.decision_id,
        decided_at=decision.decided_at,
    )


def encode_record(record: EnforcementRecord) -> bytes:
    return _JSON.encode(record)


def decode_record(raw: bytes) -> EnforcementRecord:
    return _RECORD.decode(raw)


FLUSH_CHUNK = 1000  # records per pipeline when catching up


class RedisEnforcer:
    def __init__(self, url: str, prefix: str, ttl_s: int, pending_max: int) -> None:
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.pending_max = pending_max
        self.client = aioredis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, retry_on_timeout=False
        )
        self._script = self.client.register_script(SET_IF_NEWER)
        self.pending: dict[str, EnforcementRecord] = {}
        self.backlog = 0  # records taken since the pending map became non-empty
        self.failing = False  # the last write failed
        self.last_error = ""
        self.applied = 0

    @property
    def healthy(self) -> bool:
        """Writes work and nothing is owed to Redis."""
        return not self.failing and not self.pending

    @property
    def full(self) -> bool:
        """The memory bound is reached: take no more records until the pending map is written."""
        return self.backlog >= self.pending_max

    @property
    def channel(self) -> str:
        return f"{self.prefix}enforcement"

    def action_key(self, session_id: str) -> str:
        return f"{self.prefix}action:{session_id}"

    def viewers_key(self, channel_id: str) -> str:
        return f"{self.prefix}channel:{channel_id}:viewers"

    async def close(self) -> None:
        await self.client.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def apply(self, records: Sequence[EnforcementRecord]) -> bool:
        """Write ``records``; False if they went to the pending map instead (Redis down)."""
        if not records:
            return True
        if self.pending:
            self._stash(records)
            return False
        try:
            await self._write(records)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            self._stash(records)
            return False
        return True

    async def flush_pending(self) -> bool:
        """Try to write the pending map; True once it is empty (the held messages may go)."""
        if not self.pending:
            return True
        written = 0
        while self.pending:
            batch = list(self.pending.values())[:FLUSH_CHUNK]
            try:
                await self._write(batch)
            except (RedisError, OSError) as exc:
                self._failed(exc)
                return False
            for record in batch:
                # a newer record for the session may have arrived during the write: keep it
                if self.pending.get(record.session_id) is record:
                    del self.pending[record.session_id]
            written += len(batch)
            metrics.REDIS_PENDING_ENFORCEMENT.set(len(self.pending))
        log.info(
            "redis is back: %d pending enforcement record(s) written (%d taken while it was down)",
            written,
            self.backlog,
        )
        self.backlog = 0
        return True

    async def write_now(self, records: Sequence[EnforcementRecord]) -> bool:
        """The fast path: write ``records`` if Redis is healthy, else do nothing (False).

        Never stashes and never changes the health state: the durable path (:meth:`apply` from
        the ``enforcement`` topic) writes the same records again, so it alone decides about
        outages and catching up."""
        if not records or not self.healthy:
            return False
        try:
            await self._write(records, mark=False)
        except (RedisError, OSError):
            return False
        return True

    async def write_viewers(self, counts: Iterable[tuple[str, int, int]]) -> bool:
        """``(channel_id, raw, counted)`` per channel; best effort (a gauge, rewritten often)."""
        now = f"{time.time():.3f}"
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for channel_id, raw, counted in counts:
                    key = self.viewers_key(channel_id)
                    pipe.hset(key, mapping={"raw": raw, "counted": counted, "updated_at": now})
                    pipe.expire(key, self.ttl_s)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return False
        self._worked()
        return True

    async def _write(self, records: Sequence[EnforcementRecord], mark: bool = True) -> None:
        ttl = str(self.ttl_s)
        channel = self.channel
        action_key = self.action_key
        encode = _JSON.encode
        async with self.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(records), SCRIPT_CHUNK):
                keys = []
                args = [ttl, channel]
                for r in records[start : start + SCRIPT_CHUNK]:
                    keys.append(action_key(r.session_id))
                    args.append(encode(_ActionValue(r.action, r.score, r.reasons, r.ts)))
                    args.append(repr(r.ts))
                    args.append(encode(r))
                await self._script(keys=keys, args=args, client=pipe)
            results = await pipe.execute()
        self.applied += sum(results)
        if mark:
            self._worked()

    def _worked(self) -> None:
        if self.failing:
            log.info("redis writes work again")
        self.failing = False
        self.last_error = ""

    def _stash(self, records: Sequence[EnforcementRecord]) -> None:
        pending = self.pending
        for r in records:
            old = pending.get(r.session_id)
            if old is None or r.ts >= old.ts:
                pending[r.session_id] = r
        full = self.full
        self.backlog += len(records)
        if self.full and not full:
            log.warning(
                "%d enforcement record(s) taken while redis is down (VBG_REDIS_PENDING_MAX): "
                "pausing enforcement until it is back; records wait in Kafka, decisions flow on",
                self.backlog,
            )
        metrics.REDIS_PENDING_ENFORCEMENT.set(len(pending))

    def _failed(self, exc: BaseException) -> None:
        if not self.failing:
            log.warning("redis unavailable, holding enforcement records: %s", _one_line(exc))
        self.failing = True
        self.last_error = _one_line(exc)
        metrics.SINK_WRITE_FAILURES.labels(sink="redis").inc()


class FastPath:
    """Enforcement records written to Redis straight from the decide agent, in the background.

    One writer task drains a queue, so the decide agent never waits on Redis and records keep
    their order. Best effort by design: when Redis is unhealthy, slow (the queue passes
    ``max_queued``) or the worker stops, records are skipped here; the enforcement agent
    writes every one of them from the ``enforcement`` topic anyway (idempotently).
    """

    def __init__(self, enforcer: RedisEnforcer, max_queued: int = 20_000) -> None:
        self.enforcer = enforcer
        self.max_queued = max_queued
        self.written = 0
        self.skipped = 0
        self._queue: list[EnforcementRecord] = []
        self._task: asyncio.Task | None = None

    def submit(self, records: Sequence[EnforcementRecord]) -> None:
        if not records:
            return
        if len(self._queue) + len(records) > self.max_queued or not self.enforcer.healthy:
            self.skipped += len(records)
            return
        self._queue.extend(records)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:FLUSH_CHUNK], self._queue[FLUSH_CHUNK:]
            if await self.enforcer.write_now(batch):
                self.written += len(batch)
            else:
                self.skipped += len(batch)

    async def close(self) -> None:
        self._queue.clear()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await task


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
