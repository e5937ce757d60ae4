"""The HTTP API of DESIGN §4 as aiohttp handlers, mounted by :func:`register`.

Handlers validate input, check the token scope, call :class:`EngineServices`, and shape JSON.
Everything that can go wrong becomes ``{"error": ...}`` with a fitting status (see
``engine.api.errors``); nothing here touches Kafka, Redis or ClickHouse directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from engine import metrics
from engine.api import analytics as analytics_params
from engine.api.auth import Authenticator
from engine.api.body import read_json
from engine.api.codecs import (
    decode_override,
    decode_score_batch,
    decode_thresholds,
    json_response,
    parse_actions,
    parse_unit_param,
)
from engine.api.errors import ApiError, Handler, guarded
from engine.api.services import EngineServices
from engine.api.sse import DecisionFilter, stream_decisions
from engine.api.subscriptions import DecisionSubscription
from engine.config import ApiToken
from engine.storage.clickhouse import StorageError

log = logging.getLogger("engine.api")

PREFIX = "/api/v1"
MAX_ID_CHARS = 256


@dataclass(frozen=True)
class ApiOptions:
    """Limits and timings; the defaults suit production, tests shorten the heartbeat."""

    heartbeat_s: float = 15.0
    health_timeout_s: float = 5.0
    max_json_bytes: int = 64 * 1024
    max_score_bytes: int = 4 * 1024 * 1024
    max_score_events: int = 5000
    max_event_bytes: int = 1_048_576
    max_dlq_replay: int = 100_000
    default_dlq_replay: int = 1000


class Api:
    """The handlers, bound to one engine's services and tokens."""

    def __init__(self, services: EngineServices, auth: Authenticator, options: ApiOptions) -> None:
        self.services = services
        self.auth = auth
        self.options = options
        self._streams: set[DecisionSubscription] = set()

    async def health(self, request: web.Request) -> web.Response:
        try:
            report = await asyncio.wait_for(self.services.health(), self.options.health_timeout_s)
        except TimeoutError:
            body = {"status": "down", "components": {}, "error": "health check timed out"}
            return json_response(body, status=503)
        body = report.to_dict()
        if report.status != "down":
            return json_response(body)
        down = sorted(name for name, c in report.components.items() if c.status == "down")
        body["error"] = f"engine is down: {', '.join(down)} down"
        return json_response(body, status=503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
        )

    async def stats(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        return json_response(self.services.stats())

    async def get_thresholds(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        return json_response(await self.services.get_thresholds())

    async def put_thresholds(self, request: web.Request) -> web.Response:
        principal = self.auth.authorize(request, "write")
        thresholds = decode_thresholds(await read_json(request, self.options.max_json_bytes))
        applied = await self.services.set_thresholds(thresholds, principal.actor)
        log.info("thresholds set to %s by %s", applied, principal.actor)
        return json_response(applied)

    async def list_overrides(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        return json_response({"overrides": await self.services.list_overrides()})

    async def add_override(self, request: web.Request) -> web.Response:
        principal = self.auth.authorize(request, "write")
        body = await read_json(request, self.options.max_json_bytes)
        override = decode_override(body, principal.actor, time.time())
        stored = await self.services.add_override(override, principal.actor)
        log.info(
            "override %s added by %s: %s %s %s",
            stored.override_id,
            principal.actor,
            stored.verdict,
            stored.scope,
            stored.value,
        )
        return json_response(stored, status=201)

    async def remove_override(self, request: web.Request) -> web.Response:
        principal = self.auth.authorize(request, "write")
        override_id = request.match_info.get("override_id") or request.query.get("id", "")
        _check_id(override_id, "override id")
        if not await self.services.remove_override(override_id, principal.actor):
            raise ApiError(404, f"no override with id {override_id!r}")
        log.info("override %s removed by %s", override_id, principal.actor)
        return json_response({"removed": override_id})

    async def session(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        session_id = request.match_info["session_id"]
        _check_id(session_id, "session id")
        found = await self.services.session(session_id)
        if found is None:
            raise ApiError(404, f"unknown session {session_id!r}")
        return json_response(found)

    async def decision_stream(self, request: web.Request) -> web.StreamResponse:
        self.auth.authorize(request, "read")
        channel = request.query.get("channel") or None
        if channel is not None:
            _check_id(channel, "channel")
        selector = DecisionFilter(
            channel=channel,
            min_score=parse_unit_param(request.query, "min_score"),
            actions=parse_actions(request.query),
        )
        subscription = self.services.subscribe_decisions()
        self._streams.add(subscription)
        try:
            return await stream_decisions(request, subscription, selector, self.options.heartbeat_s)
        finally:
            self._streams.discard(subscription)

    async def analytics_index(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        return json_response({"queries": analytics_params.specs()})

    async def analytics_summary(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        params = analytics_params.validate(analytics_params.SUMMARY, request.query)
        rows = await self._run_analytics(analytics_params.SUMMARY, params)
        return json_response(analytics_params.summary_body(rows))

    async def analytics(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")
        name = request.match_info["name"]
        params = analytics_params.validate(name, request.query)
        rows = await self._run_analytics(name, params)
        return json_response({"name": name, "params": params, "rows": rows})

    async def _run_analytics(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return await self.services.analytics(name, params)
        except StorageError as exc:
            raise ApiError(503, f"ClickHouse is unavailable: {exc}") from None

    async def score(self, request: web.Request) -> web.Response:
        self.auth.authorize(request, "read")  # no side effects, so read scope suffices
        data = await read_json(request, self.options.max_score_bytes)
        events = decode_score_batch(
            data,
            max_events=self.options.max_score_events,
            max_event_bytes=self.options.max_event_bytes,
        )
        decision = await self.services.score(events)
        return json_response(
            {"session_id": events[0].session_id, "events": len(events), "decision": decision}
        )

    async def replay_dlq(self, request: web.Request) -> web.Response:
        principal = self.auth.authorize(request, "write")
        body = await read_json(request, self.options.max_json_bytes, default={})
        if not isinstance(body, dict):
            raise ApiError(422, 'expected a JSON object such as {"limit": 1000}')
        limit = body.get("limit", self.options.default_dlq_replay)
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise ApiError(422, "limit must be an integer")
        if not 1 <= limit <= self.options.max_dlq_replay:
            raise ApiError(422, f"limit must be between 1 and {self.options.max_dlq_replay}")
        counts = await self.services.replay_dlq(limit)
        log.info("DLQ replay of up to %d records by %s: %s", limit, principal.actor, counts)
        return json_response({"replayed": counts, "total": sum(counts.values())})

    async def close_streams(self, _app: web.Application | None = None) -> None:
        """End every open decision stream (application shutdown)."""
        for subscription in tuple(self._streams):
            subscription.close()

    def routes(self) -> list[tuple[str, str, Handler]]:
        p = PREFIX
        return [
            ("GET", "/metrics", self.metrics),
            ("GET", f"{p}/health", self.health),
            ("GET", f"{p}/stats", self.stats),
            ("GET", f"{p}/config/thresholds", self.get_thresholds),
            ("PUT", f"{p}/config/thresholds", self.put_thresholds),
            ("GET", f"{p}/overrides", self.list_overrides),
            ("POST", f"{p}/overrides", self.add_override),
            ("DELETE", f"{p}/overrides", self.remove_override),
            ("DELETE", f"{p}/overrides/{{override_id}}", self.remove_override),
            ("GET", f"{p}/sessions/{{session_id}}", self.session),
            ("GET", f"{p}/decisions/stream", self.decision_stream),
            ("GET", f"{p}/analytics", self.analytics_index),
            ("GET", f"{p}/analytics/summary", self.analytics_summary),
            ("GET", f"{p}/analytics/{{name}}", self.analytics),
            ("POST", f"{p}/score", self.score),
            ("POST", f"{p}/dlq/replay", self.replay_dlq),
        ]


def _check_id(value: str, what: str) -> None:
    if not value or len(value) > MAX_ID_CHARS or not value.isprintable():
        raise ApiError(422, f"{what} must be 1..{MAX_ID_CHARS} printable characters")


def _method_not_allowed(allowed: Iterable[str]) -> Handler:
    allow = ", ".join(sorted(allowed))

    async def handler(request: web.Request) -> web.Response:
        raise ApiError(
            405, f"method {request.method} not allowed; use {allow}", headers={"Allow": allow}
        )

    return handler


async def _not_found(request: web.Request) -> web.Response:
    raise ApiError(404, f"no API endpoint at {request.path}")


def register(
    app: web.Application,
    services: EngineServices,
    tokens: Iterable[ApiToken],
    options: ApiOptions | None = None,
) -> Api:
    """Mount every endpoint on ``app`` (call before the app starts; Faust's web_app works)."""
    auth = Authenticator(tokens)
    api = Api(services, auth, options or ApiOptions())

    def secrets() -> tuple[str, ...]:
        return auth.secrets

    by_path: dict[str, list[tuple[str, Handler]]] = {}
    for method, path, handler in api.routes():
        by_path.setdefault(path, []).append((method, handler))
    for path, handlers in by_path.items():
        resource = app.router.add_resource(path)
        for method, handler in handlers:
            resource.add_route(method, guarded(handler, path, secrets))
        allowed = [method for method, _ in handlers]
        resource.add_route("*", guarded(_method_not_allowed(allowed), path, secrets))
    app.router.add_route("*", f"{PREFIX}/{{tail:.*}}", guarded(_not_found, "unknown", secrets))
    app.on_shutdown.append(api.close_streams)
    return api
