"""The ClickHouse sink's batching: full batches, a bounded wait, and no wait once the flow stops.

Faust agents in ``test_context`` (values put straight into the agent's channel; no broker is
involved, and none is claimed).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
import pytest

from engine.runtime.batching import take_lingering


def _app() -> faust.App:
    return faust.App("vbg-test-batching", broker="kafka://127.0.0.1:9", store="memory://")


async def _until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)


async def test_full_batches_then_the_rest_as_soon_as_the_flow_pauses() -> None:
    batches: list[list[int]] = []
    app = _app()

    @app.agent(app.topic("vbg-test-batching"))
    async def sink(stream: Any) -> None:
        async for batch in take_lingering(stream, 3, within=60.0, idle=0.2):
            batches.append([e.value for e in batch])

    async with sink.test_context() as agent:
        for i in range(7):
            await agent.put(i)
        # The last value must not wait out the 60 s window: the flow paused.
        await _until(lambda: sum(map(len, batches)) == 7, timeout=10.0)
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_steady_trickle_is_cut_every_within_seconds() -> None:
    batches: list[list[int]] = []
    app = _app()

    @app.agent(app.topic("vbg-test-batching"))
    async def sink(stream: Any) -> None:
        async for batch in take_lingering(stream, 1000, within=0.3, idle=60.0):
            batches.append([e.value for e in batch])

    async with sink.test_context() as agent:
        for i in range(30):
            await agent.put(i)
            await asyncio.sleep(0.05)
        # while values kept coming (never idle), batches were still cut
        assert len(batches) >= 2
        await _until(lambda: sum(map(len, batches)) == 30, timeout=10.0)
    assert [v for b in batches for v in b] == list(range(30))
    assert all(len(b) < 30 for b in batches)


async def test_events_are_acked_only_after_the_body_is_done() -> None:
    seen: list[tuple[bool, ...]] = []
    done: list[Any] = []

    app = _app()

    @app.agent(app.topic("vbg-test-batching"))
    async def sink(stream: Any) -> None:
        async for batch in take_lingering(stream, 10, within=60.0, idle=0.1):
            seen.append(tuple(e.message.acked for e in batch))
            done.extend(e.message for e in batch)

    async with sink.test_context() as agent:
        for i in range(4):
            await agent.put(i)
        await _until(lambda: len(done) == 4 and all(m.acked for m in done), timeout=10.0)
    assert seen == [(False, False, False, False)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_": 0, "within": 1.0, "idle": 0.1},
        {"max_": 10, "within": 0.0, "idle": 0.1},
        {"max_": 10, "within": 1.0, "idle": 0.0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    async def first() -> None:
        await take_lingering(object(), **kwargs).__anext__()

    with pytest.raises(ValueError):
        asyncio.run(first())
