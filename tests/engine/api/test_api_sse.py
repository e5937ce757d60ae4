"""GET /api/v1/decisions/stream: SSE framing, filters, heartbeats, disconnects, shutdown."""

from __future__ import annotations

import asyncio
import json

import pytest
from api_harness import READ

from engine.schemas import Decision, decision_id

PATH = "/api/v1/decisions/stream"


def decision(session: str, channel: str, score: float, action: str, seq: int = 0) -> Decision:
    return Decision(
        decision_id=decision_id(session, seq),
        ts=1_700_000_000.0 + seq,
        decided_at=1_700_000_000.5 + seq,
        session_id=session,
        channel_id=channel,
        score=score,
        action=action,
        reasons=("segment_cadence_robotic",) if action != "count" else (),
        features={"segment_rate": 0.5},
        rule_version="test",
    )


async def read_event(resp) -> tuple[list[str], dict | None]:
    """Lines of the next SSE block (up to a blank line) and its parsed data, if any."""
    lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(resp.content.readline(), 10)
        assert raw, "stream ended unexpectedly"
        line = raw.decode().rstrip("\n")
        if line == "":
            if lines:
                break
            continue
        lines.append(line)
    data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
    return lines, json.loads(data[0]) if data else None


async def next_decision(resp) -> tuple[list[str], dict]:
    while True:
        lines, data = await read_event(resp)
        if data is not None:
            return lines, data


async def wait_for_subscribers(services, n: int) -> None:
    for _ in range(500):
        if len(services.hub) == n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {n} subscribers, have {len(services.hub)}")


async def test_stream_frames_and_filters(api, services):
    params = {"channel": "c-1", "min_score": "0.6", "action": "block,challenge"}
    async with api.client.get(PATH, params=params, headers=READ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert resp.headers["Cache-Control"] == "no-cache"
        first, _ = await read_event(resp)
        assert first == ["retry: 3000", ": connected"]
        await wait_for_subscribers(services, 1)
        services.hub.publish(decision("s-other-channel", "c-2", 0.99, "block"))
        services.hub.publish(decision("s-low", "c-1", 0.55, "suppress"))
        services.hub.publish(decision("s-count", "c-1", 0.9, "count"))  # action filtered
        wanted = decision("s-bot", "c-1", 0.93, "block", seq=3)
        services.hub.publish(wanted)
        lines, data = await next_decision(resp)
        assert lines[0] == f"id: {wanted.decision_id}"
        assert lines[1] == "event: decision"
        assert data["session_id"] == "s-bot" and data["action"] == "block"
        assert data["reasons"] == ["segment_cadence_robotic"]
    await wait_for_subscribers(services, 0)


async def test_heartbeats_are_comments(api, services):
    async with api.client.get(PATH, headers=READ) as resp:
        await read_event(resp)  # retry + connected
        lines, data = await read_event(resp)  # heartbeat_s is 0.2 in tests
        assert data is None
        assert len(lines) == 1 and lines[0].startswith(": heartbeat ")


async def test_unfiltered_stream_gets_every_decision_in_order(api, services):
    async with api.client.get(PATH, headers=READ) as resp:
        await read_event(resp)
        await wait_for_subscribers(services, 1)
        sent = [decision(f"s-{i}", "c-1", 0.1 * i, "count", i) for i in range(5)]
        for d in sent:
            services.hub.publish(d)
        got = [(await next_decision(resp))[1]["session_id"] for _ in sent]
        assert got == [d.session_id for d in sent]


async def test_client_disconnect_unsubscribes(api, services):
    resp = await api.client.get(PATH, headers=READ)
    await read_event(resp)
    await wait_for_subscribers(services, 1)
    resp.close()  # drop the connection; the next heartbeat write notices
    await wait_for_subscribers(services, 0)


async def test_shutdown_ends_open_streams(api, services):
    async with api.client.get(PATH, headers=READ) as resp:
        await read_event(resp)
        await wait_for_subscribers(services, 1)
        await api.api.close_streams()
        rest = await asyncio.wait_for(resp.content.read(), 10)  # EOF instead of hanging
        assert b"event: decision" not in rest
    await wait_for_subscribers(services, 0)


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"min_score": "high"}, "min_score must be a number between 0 and 1"),
        ({"min_score": "1.5"}, "min_score must be a number between 0 and 1"),
        ({"action": "block,explode"}, "action must be one of"),
    ],
)
async def test_bad_filters_are_422(api, services, params, fragment):
    _, error, _ = await api.get(PATH, params=params, headers=READ, expect=422)
    assert fragment in error["error"]
    assert len(services.hub) == 0
