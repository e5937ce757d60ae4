"""``RedisEnforcer`` against real redis-servers: set-if-newer writes, and an outage (pending
records bounded, then flushed when Redis is back). The worker-level outage test is
``tests/integration/test_worker_redis_outage.py``."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from engine.localstack.services import RedisService
from engine.sinks.redis_enforcement import SCRIPT_CHUNK, EnforcementRecord, RedisEnforcer


def record(session: str, action: str, ts: float, channel: str = "c1") -> EnforcementRecord:
    return EnforcementRecord(
        session_id=session,
        channel_id=channel,
        action=action,
        score=0.5,
        reasons=("request_clockwork",),
        ts=ts,
        decision_id=f"{session}-{ts}",
        decided_at=ts + 1,
    )


@pytest.fixture
async def shared(redis_url: str) -> AsyncIterator[RedisEnforcer]:
    enforcer = RedisEnforcer(redis_url, f"vbg-ut:{uuid.uuid4().hex[:10]}:", 600, 100)
    yield enforcer
    keys = [k async for k in enforcer.client.scan_iter(match=f"{enforcer.prefix}*")]
    if keys:
        await enforcer.client.delete(*keys)
    await enforcer.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisService]:
    """A redis-server of this test's own, so it can be stopped and started on the same port."""
    service = RedisService(tmp_path)
    service.start(30)
    try:
        yield service
    finally:
        service.stop()


async def test_writes_are_idempotent_and_never_roll_back(shared: RedisEnforcer) -> None:
    pubsub = shared.client.pubsub()
    await pubsub.subscribe(shared.channel)
    try:
        confirmed = await pubsub.get_message(timeout=5)  # subscribed before anything is written
        assert confirmed and confirmed["type"] == "subscribe"
        assert await shared.apply([record("s1", "block", 20.0)])
        assert await shared.apply([record("s1", "count", 10.0)])  # older: ignored
        assert await shared.apply([record("s1", "block", 20.0)])  # replayed: same value
        # the fast path and the durable path write the same record: announced once
        assert await shared.write_now([record("s2", "challenge", 5.0)])
        assert await shared.apply([record("s2", "challenge", 5.0)])
        value = json.loads(await shared.client.get(shared.action_key("s1")))
        assert value == {
            "action": "block",
            "score": 0.5,
            "reasons": ["request_clockwork"],
            "ts": 20.0,
        }
        assert 0 < await shared.client.ttl(shared.action_key("s1")) <= 600
        published = []
        while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1):
            published.append(json.loads(message["data"])["action"])
        # neither the rolled-back write nor the identical replays were announced
        assert published == ["block", "challenge"]
    finally:
        await pubsub.aclose()


async def test_a_large_batch_is_applied_record_by_record_in_order(shared: RedisEnforcer) -> None:
    """Many records per script call, over several calls: each is judged against what its key
    holds at that moment, in the batch's order (a later, newer record of a session wins; an
    older one does not roll it back), and only what was set counts and is announced."""
    n = SCRIPT_CHUNK * 2 + 7
    assert await shared.apply([record(f"old{i}", "block", 50.0) for i in range(n)])
    applied = shared.applied
    pubsub = shared.client.pubsub()
    await pubsub.subscribe(shared.channel)
    try:
        assert (await pubsub.get_message(timeout=5) or {}).get("type") == "subscribe"
        batch = []
        for i in range(n):
            batch.append(record(f"old{i}", "count", 40.0))  # older than stored: ignored
            batch.append(record(f"new{i}", "challenge", 10.0))
            batch.append(record(f"new{i}", "suppress", 11.0))  # newer, same batch: wins
            batch.append(record(f"new{i}", "challenge", 10.0))  # older again: ignored
        assert await shared.apply(batch)
        assert shared.applied - applied == 2 * n
        for i in (0, SCRIPT_CHUNK, n - 1):
            old = json.loads(await shared.client.get(shared.action_key(f"old{i}")))
            new = json.loads(await shared.client.get(shared.action_key(f"new{i}")))
            assert (old["action"], old["ts"]) == ("block", 50.0)
            assert (new["action"], new["ts"]) == ("suppress", 11.0)
        announced = 0
        while await pubsub.get_message(ignore_subscribe_messages=True, timeout=1):
            announced += 1
        assert announced == 2 * n
    finally:
        await pubsub.aclose()


async def test_outage_holds_a_bounded_backlog_and_flushes_it(own_redis: RedisService) -> None:
    enforcer = RedisEnforcer(own_redis.url, "vbg-ut:", 600, 5)
    try:
        assert await enforcer.apply([record("s1", "count", 1.0)])
        own_redis.stop()
        assert not await enforcer.ping()
        assert not await enforcer.apply(
            [record("s1", "challenge", 2.0), record("s2", "count", 2.0)]
        )
        assert not enforcer.healthy and enforcer.last_error
        assert not enforcer.full
        # the newest record per session is kept; an older one arriving late does not replace it
        assert not await enforcer.apply([record("s1", "block", 3.0), record("s1", "count", 1.5)])
        assert set(enforcer.pending) == {"s1", "s2"}
        assert enforcer.pending["s1"].action == "block"
        # five records taken since the outage began: the bound, whatever the session count
        assert enforcer.backlog == 4 and not enforcer.full
        assert not await enforcer.apply([record("s3", "count", 3.0)])
        assert enforcer.full
        assert not await enforcer.flush_pending()  # still down

        restarted = RedisService(own_redis.workdir, port=own_redis.port)  # same port
        restarted.start(30)
        own_redis.process = restarted.process  # the fixture stops it
        assert await enforcer.flush_pending()
        assert enforcer.healthy and not enforcer.full and not enforcer.pending
        client = redis.Redis.from_url(own_redis.url)
        try:
            actions = {
                s: json.loads(client.get(f"vbg-ut:action:{s}"))["action"]
                for s in ("s1", "s2", "s3")
            }
        finally:
            client.close()
        assert actions == {"s1": "block", "s2": "count", "s3": "count"}
        assert await enforcer.apply([record("s2", "suppress", 4.0)])  # written directly again
    finally:
        await enforcer.close()


async def test_a_viewer_write_that_works_clears_a_failure(own_redis: RedisService) -> None:
    enforcer = RedisEnforcer(own_redis.url, "vbg-ut:", 600, 100)
    try:
        own_redis.stop()
        assert not await enforcer.write_viewers([("c1", 10, 8)])
        assert not enforcer.healthy
        restarted = RedisService(own_redis.workdir, port=own_redis.port)
        restarted.start(30)
        own_redis.process = restarted.process
        assert await enforcer.write_viewers([("c1", 10, 8)])
        assert enforcer.healthy
        viewers = await enforcer.client.hgetall(enforcer.viewers_key("c1"))
        assert viewers[b"raw"] == b"10" and viewers[b"counted"] == b"8"
    finally:
        await enforcer.close()
