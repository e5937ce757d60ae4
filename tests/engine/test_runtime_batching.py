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


async def _batches(
    values: int, max_: int, within: float, idle: float, pace: float
) -> tuple[list[list[int]], int]:
    """Put ``values`` 0.. into a lingering sink ``pace`` s apart; the batches it took, in order,
    and how many had been taken by the time the last value went in."""
    app = _app()
    batches: list[list[int]] = []

    @app.agent(app.topic("vbg-test-batching"))
    async def sink(stream: Any) -> None:
        async for batch in take_lingering(stream, max_, within=within, idle=idle):
            batches.append([e.value for e in batch])

    async with sink.test_context() as agent:
        for i in range(values):
            await agent.put(i)
            await asyncio.sleep(pace)
        during = len(batches)
        await _until(lambda: sum(map(len, batches)) == values, timeout=10.0)
    return batches, during


async def test_full_batches_then_the_rest_as_soon_as_the_flow_pauses() -> None:
    # The last value must not wait out the 60 s window (the test gives up after 10 s).
    batches, _ = await _batches(7, max_=3, within=60.0, idle=0.2, pace=0.0)
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_steady_trickle_is_cut_every_within_seconds() -> None:
    batches, during = await _batches(30, max_=1000, within=0.3, idle=60.0, pace=0.05)
    assert during >= 2  # while values kept coming (never idle), batches were still cut
    assert [v for b in batches for v in b] == list(range(30))


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
