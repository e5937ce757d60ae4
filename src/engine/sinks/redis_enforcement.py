"""Enforcement in Redis (DESIGN §4): per-session action keys, pub/sub, channel viewer counts.

- ``{prefix}action:{session_id}`` -> JSON ``{action, score, reasons, ts}`` with a TTL;
- every applied change is published on ``{prefix}enforcement`` (the full record as JSON);
- ``{prefix}channel:{channel_id}:viewers`` -> hash ``raw``, ``counted``, ``updated_at``.

Writes are idempotent and order-proof: a Lua script sets an action key only if the record is
not older (event time ``ts``) than what the key holds, so a replayed or reordered record never
rolls a session back, and it publishes only what it set.

Redis down: :meth:`RedisEnforcer.apply` keeps the newest record per session in a bounded pending
map and reports failure; the caller holds those Kafka messages un-acked (the commit cannot pass
them), and :meth:`flush_pending` writes the pending map once Redis answers again. Decisions keep
flowing to Kafka and ClickHouse meanwhile; health says ``degraded``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from engine import metrics
from engine.schemas import Decision

log = logging.getLogger("engine.sinks.redis")

SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and tonumber(doc['ts']) and tonumber(doc['ts']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""


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
        self.healthy = True
        self.last_error = ""
        self.applied = 0

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
        except (RedisError, OSError):
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
        """Try to write the pending map; True once it is empty."""
        if not self.pending:
            return True
        batch = list(self.pending.values())
        try:
            await self._write(batch)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return False
        for record in batch:
            if self.pending.get(record.session_id) is record:
                del self.pending[record.session_id]
        metrics.REDIS_PENDING_ENFORCEMENT.set(len(self.pending))
        if not self.pending:
            log.info("redis is back: %d pending enforcement record(s) written", len(batch))
        return not self.pending

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.pending_max

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
        return True

    async def _write(self, records: Sequence[EnforcementRecord]) -> None:
        ttl = str(self.ttl_s)
        channel = self.channel
        async with self.client.pipeline(transaction=False) as pipe:
            for r in records:
                value = _JSON.encode(_ActionValue(r.action, r.score, r.reasons, r.ts))
                await self._script(
                    keys=[self.action_key(r.session_id)],
                    args=[value, repr(r.ts), ttl, channel, _JSON.encode(r)],
                    client=pipe,
                )
            results = await pipe.execute()
        self.applied += sum(1 for x in results if x == 1)
        if not self.healthy:
            log.info("redis writes work again")
        self.healthy = True
        self.last_error = ""

    def _stash(self, records: Iterable[EnforcementRecord]) -> None:
        pending = self.pending
        for r in records:
            old = pending.get(r.session_id)
            if old is None or r.ts >= old.ts:
                pending[r.session_id] = r
        metrics.REDIS_PENDING_ENFORCEMENT.set(len(pending))

    def _failed(self, exc: BaseException) -> None:
        if self.healthy:
            log.warning("redis unavailable, holding enforcement records: %s", _one_line(exc))
        self.healthy = False
        self.last_error = _one_line(exc)
        metrics.SINK_WRITE_FAILURES.labels(sink="redis").inc()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
