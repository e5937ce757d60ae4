"""Test-side helpers: an EngineServices backed by a real Redis, and a checking HTTP client.

``RedisServices`` is our own interface implemented for tests (not a stand-in for Redis):
thresholds, overrides and sessions live in a real redis-server, health pings it for real,
scoring runs the real detection core, and analytics (when given a ClickHouse client) runs the
real query catalog.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from engine import metrics
from engine.api.routes import ApiOptions, register
from engine.api.services import ComponentHealth, DecisionHub, HealthReport
from engine.config import ApiToken
from engine.detect import Detector, Override, Policy, Thresholds
from engine.schemas import BaseEvent, Decision

READ_TOKEN = "reader-token-123"
WRITE_TOKEN = "writer-token-456"
TOKENS = (ApiToken(READ_TOKEN, "read"), ApiToken(WRITE_TOKEN, "write"))
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
START_THRESHOLDS = Thresholds(suppress=0.5, challenge=0.65, block=0.85)


class RedisServices:
    def __init__(self, redis_url: str, clickhouse: Any = None) -> None:
        self.redis = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = f"vbgtest:{uuid.uuid4().hex[:8]}:"
        self.hub = DecisionHub(queue_size=100)
        self.clickhouse = clickhouse
        self.kafka_status = "ok"
        self.audit: list[tuple[str, str]] = []
        self.dlq: list[str] = []
        self.fail_with: Exception | None = None

    async def close(self) -> None:
        await self.redis.aclose()

    async def health(self) -> HealthReport:
        try:
            await self.redis.ping()
            redis_health = ComponentHealth("ok")
        except Exception as exc:
            redis_health = ComponentHealth("down", type(exc).__name__)
        return HealthReport(
            {
                "kafka": ComponentHealth(self.kafka_status),
                "clickhouse": ComponentHealth("ok"),
                "redis": redis_health,
                "worker": ComponentHealth("ok"),
            }
        )

    def stats(self) -> dict[str, Any]:
        if self.fail_with is not None:
            raise self.fail_with
        return metrics.snapshot()

    async def get_thresholds(self) -> Thresholds:
        raw = await self.redis.get(self.prefix + "thresholds")
        return START_THRESHOLDS if raw is None else msgspec.json.decode(raw, type=Thresholds)

    async def set_thresholds(self, thresholds: Thresholds, actor: str) -> Thresholds:
        await self.redis.set(self.prefix + "thresholds", msgspec.json.encode(thresholds))
        self.audit.append(("thresholds", actor))
        return thresholds

    async def list_overrides(self) -> list[Override]:
        raw = await self.redis.hgetall(self.prefix + "overrides")
        found = [msgspec.json.decode(v, type=Override) for v in raw.values()]
        return sorted(found, key=lambda o: o.created_at)

    async def add_override(self, override: Override, actor: str) -> Override:
        await self.redis.hset(
            self.prefix + "overrides", override.override_id, msgspec.json.encode(override)
        )
        self.audit.append(("add_override", actor))
        return override

    async def remove_override(self, override_id: str, actor: str) -> bool:
        removed = await self.redis.hdel(self.prefix + "overrides", override_id)
        self.audit.append(("remove_override", actor))
        return bool(removed)

    async def put_session(self, session_id: str, body: dict[str, Any]) -> None:
        await self.redis.set(self.prefix + "session:" + session_id, json.dumps(body))

    async def session(self, session_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.prefix + "session:" + session_id)
        return None if raw is None else json.loads(raw)

    def subscribe_decisions(self):
        return self.hub.subscribe()

    async def analytics(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        from engine.analytics import catalog
        from engine.storage.clickhouse import to_thread

        return await to_thread(catalog.run, self.clickhouse, name, params)

    async def score(self, events: list[BaseEvent]) -> Decision | None:
        policy = Policy(
            thresholds=await self.get_thresholds(), overrides=tuple(await self.list_overrides())
        )
        detector = Detector(policy)
        decision = None
        for event in events:
            decision = detector.process(event) or decision
        return decision

    async def replay_dlq(self, limit: int) -> dict[str, int]:
        replayed, self.dlq = self.dlq[:limit], self.dlq[limit:]
        counts: dict[str, int] = {}
        for topic in replayed:
            counts[topic] = counts.get(topic, 0) + 1
        return counts


def assert_clean_error(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """An error must be JSON ``{"error": str}`` and must never carry a traceback."""
    assert status >= 400
    assert content_type == "application/json", (status, content_type, body[:200])
    data = json.loads(body)
    assert isinstance(data.get("error"), str) and data["error"], data
    text = body.decode()
    assert "Traceback" not in text and 'File "' not in text, text
    assert READ_TOKEN not in text and WRITE_TOKEN not in text
    return data


class ApiClient:
    """aiohttp's TestClient on a real loopback server; every error response is checked."""

    def __init__(self, client: TestClient, api: Any) -> None:
        self.client = client
        self.api = api

    async def request(
        self, method: str, path: str, *, expect: int | None = None, **kwargs: Any
    ) -> tuple[int, Any, Any]:
        async with self.client.request(method, path, **kwargs) as resp:
            body = await resp.read()
            if resp.status >= 400:
                data: Any = assert_clean_error(resp.status, resp.content_type, body)
            elif resp.content_type == "application/json":
                data = json.loads(body)
            else:
                data = body.decode()
            if expect is not None:
                assert resp.status == expect, (resp.status, data)
            return resp.status, data, resp.headers

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.request("GET", path, **kw)

    async def put(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.request("PUT", path, **kw)

    async def post(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.request("POST", path, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.request("DELETE", path, **kw)


async def start_client(
    services: Any, tokens: Any = TOKENS, options: ApiOptions | None = None
) -> tuple[ApiClient, Callable[[], Any]]:
    app = web.Application()
    api = register(app, services, tokens, options or ApiOptions(heartbeat_s=0.2))
    client = TestClient(TestServer(app))
    await client.start_server()
    return ApiClient(client, api), client.close
