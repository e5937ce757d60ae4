"""The live decision stream as Server-Sent Events (``text/event-stream``).

Frames: ``retry:`` once, then ``id: <decision_id>`` / ``event: decision`` / ``data: <json>`` per
decision, and ``: heartbeat <epoch>`` comments while idle, so proxies keep the connection and
the server notices a vanished client. A client that disconnects, or the service shutting down,
ends the stream and unsubscribes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiohttp import web

from engine.api.codecs import encode_json
from engine.api.subscriptions import DecisionSubscription
from engine.schemas import Decision

RETRY_MS = 3000
log = logging.getLogger("engine.api")


@dataclass(frozen=True)
class DecisionFilter:
    channel: str | None = None
    min_score: float | None = None
    actions: frozenset[str] | None = None

    def matches(self, decision: Decision) -> bool:
        if self.channel is not None and decision.channel_id != self.channel:
            return False
        if self.min_score is not None and decision.score < self.min_score:
            return False
        return self.actions is None or decision.action in self.actions


def decision_frame(decision: Decision) -> bytes:
    """One SSE event; the JSON is a single line, so one ``data:`` field carries it."""
    return (
        b"id: "
        + decision.decision_id.encode()
        + b"\nevent: decision\ndata: "
        + encode_json(decision)
        + b"\n\n"
    )


def heartbeat_frame(now: float) -> bytes:
    return f": heartbeat {now:.0f}\n\n".encode()


async def stream_decisions(
    request: web.Request,
    subscription: DecisionSubscription,
    selector: DecisionFilter,
    heartbeat_s: float,
) -> web.StreamResponse:
    """Write matching decisions until the client leaves or the subscription is closed."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
        while True:
            decision = await subscription.get(timeout=heartbeat_s)
            if decision is None:
                if subscription.closed:
                    break
                await response.write(heartbeat_frame(time.time()))
            elif selector.matches(decision):
                await response.write(decision_frame(decision))
    except ConnectionError:
        pass  # the client went away; nothing to tell it
    except Exception:
        # Headers are already sent, so no JSON error can follow: log it and end the stream.
        log.exception("decision stream ended by an internal error")
    finally:
        subscription.close()
    return response
