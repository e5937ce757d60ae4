"""Fan-out of live decisions to Server-Sent-Events clients, without ever blocking the engine.

Each subscriber owns a bounded queue. ``DecisionHub.publish`` is synchronous and never waits: a
slow client loses its oldest queued decisions (counted in ``viewbot_sse_dropped_decisions``)
instead of slowing the decision path or growing memory without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from engine import metrics
from engine.schemas import Decision

DEFAULT_QUEUE_SIZE = 1000


class DecisionSubscription:
    """One client's view of the decision stream: ``async for decision in sub``; ``close()`` ends it."""

    def __init__(self, hub: DecisionHub | None = None, maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._queue: asyncio.Queue[Decision | None] = asyncio.Queue(maxsize)
        self._hub = hub
        self._closed = False
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def push(self, decision: Decision) -> None:
        """Queue a decision; if the queue is full the oldest one is dropped (and counted)."""
        if self._closed:
            return
        while self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            metrics.SSE_DROPPED.inc()
        self._queue.put_nowait(decision)

    async def get(self, timeout: float | None = None) -> Decision | None:
        """Next decision, or None when closed or when ``timeout`` seconds pass without one."""
        if self._closed and self._queue.empty():
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Unsubscribe; a waiting ``get``/iteration wakes up and ends."""
        if self._closed:
            return
        self._closed = True
        if self._hub is not None:
            self._hub.discard(self)
        while self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Decision]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Decision]:
        while True:
            decision = await self._queue.get()
            if decision is None:
                return
            yield decision


class DecisionHub:
    """Broadcasts each decision to every open subscription (one hub per worker process)."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[DecisionSubscription] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> DecisionSubscription:
        subscription = DecisionSubscription(self, self._queue_size)
        self._subscribers.add(subscription)
        metrics.SSE_CLIENTS.set(len(self._subscribers))
        return subscription

    def discard(self, subscription: DecisionSubscription) -> None:
        self._subscribers.discard(subscription)
        metrics.SSE_CLIENTS.set(len(self._subscribers))

    def publish(self, decision: Decision) -> None:
        """Hand a decision to every subscriber; never blocks (call from the event loop thread)."""
        for subscription in tuple(self._subscribers):
            subscription.push(decision)

    def close(self) -> None:
        """End every subscription (service shutdown)."""
        for subscription in tuple(self._subscribers):
            subscription.close()
