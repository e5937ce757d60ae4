"""Batches for a sink that lingers like a Kafka producer: full, old enough, or the flow paused.

Faust's ``Stream.take_events(max_, within)`` yields a batch when ``max_`` events are buffered or
when ``within`` seconds pass, so the last decisions of a burst (the end of a backlog, a quiet
moment in live traffic) wait out the whole window before anyone can query them. A sink wants
both: big batches while records pour in (ClickHouse prefers few, large inserts) and no wait once
they stop. :func:`take_lingering` yields when the batch is full, when its oldest event has
waited ``within`` seconds, or when no event arrived for ``idle`` seconds.

It is Faust's ``take_events`` with those conditions (the same processor/passive-stream
mechanics, acks after the caller's body returns), checked every ``tick`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from mode.utils.futures import notify

DEFAULT_TICK_S = 0.05


async def take_lingering(
    stream: Any,
    max_: int,
    *,
    within: float,
    idle: float,
    tick: float = DEFAULT_TICK_S,
) -> AsyncIterator[list[Any]]:
    """Yield lists of at most ``max_`` events of ``stream``; they are acked after the body."""
    if max_ < 1 or within <= 0 or idle <= 0 or tick <= 0:
        raise ValueError("max_ >= 1, and within, idle and tick > 0")
    events: list[Any] = []
    first_at = last_at = 0.0
    full = asyncio.Event()
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None
    acks = stream.enable_acks
    channel_it = stream.channel.__aiter__()

    async def add(value: Any) -> Any:
        nonlocal consuming, first_at, last_at
        if consuming is not None:
            try:
                await consuming  # the batch is being written: do not grow it meanwhile
            finally:
                consuming = None
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_lingering: no current event")
        last_at = time.monotonic()
        if not events:
            first_at = last_at
        events.append(event)
        if len(events) >= max_:
            full.set()
            consumed.clear()
            await stream.wait(consumed)  # never more than max_ in one batch
        return value

    stream.enable_acks = False  # acked here, once the caller's body has returned
    stream.add_processor(add)
    stream._enable_passive(channel_it)
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(full, timeout=tick)
            if not events:
                continue
            now = time.monotonic()
            if not (full.is_set() or now - first_at >= within or now - last_at >= idle):
                continue
            consuming = asyncio.get_running_loop().create_future()
            batch = list(events)
            try:
                yield batch
            finally:
                events.clear()
                for event in batch:
                    await stream.ack(event)
                notify(consuming)
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks
        stream._processors.remove(add)
