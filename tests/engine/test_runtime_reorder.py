"""The decide agent's event-time merge: what it holds back, what it releases, in which order."""

from __future__ import annotations

from dataclasses import dataclass

from engine.runtime.reorder import ReorderBuffer


@dataclass
class Ev:
    ts: float
    name: str


def add(buf: ReorderBuffer, source: str, token: str, stamps: list[float], now: float, **kw):
    events = [Ev(ts, f"{source}@{ts}") for ts in stamps]
    buf.add(source, token, events, list(range(len(events))), [now] * len(events), now, **kw)


def names(released) -> list[str]:
    return [item[3].name for item in released]


def started(**kw) -> ReorderBuffer:
    return ReorderBuffer(grace_s=0.0, expected=None, **kw)


def test_a_source_catching_up_holds_back_newer_events_of_the_others() -> None:
    buf = started()
    add(buf, "cdn-logs:0", "m1", [10, 20, 30], 0.0, clock=30, caught_up=True)
    add(buf, "player-events:0", "m2", [5, 15], 0.0, clock=15, caught_up=False)
    assert names(buf.release(1.0)) == ["player-events:0@5", "cdn-logs:0@10", "player-events:0@15"]
    assert len(buf) == 2  # cdn 20 and 30 wait for the player events to get there
    add(buf, "player-events:0", "m3", [25], 2.0, clock=25, caught_up=True)
    assert names(buf.release(2.0)) == ["cdn-logs:0@20", "player-events:0@25", "cdn-logs:0@30"]
    assert buf.completed() == ["m1", "m2", "m3"]
    assert buf.released_early == 0


def test_caught_up_sources_hold_nothing_back() -> None:
    buf = started()
    add(buf, "cdn-logs:0", "m1", [10, 30], 0.0, clock=30, caught_up=True)
    add(buf, "player-events:0", "m2", [20], 0.0, clock=20, caught_up=True)
    assert names(buf.release(0.0)) == ["cdn-logs:0@10", "player-events:0@20", "cdn-logs:0@30"]
    assert buf.released_early == 0


def test_a_full_buffer_releases_early_and_counts_what_it_released_out_of_order() -> None:
    buf = started(max_items=3)
    add(buf, "player-events:0", "m1", [5], 0.0, clock=5, caught_up=False)
    add(buf, "cdn-logs:0", "m2", [1, 10, 20], 0.0, clock=20, caught_up=True)
    # 4 held > 3: everything goes, and the two cdn events past the player's clock (5) are early
    assert names(buf.release(0.0)) == [
        "cdn-logs:0@1",
        "player-events:0@5",
        "cdn-logs:0@10",
        "cdn-logs:0@20",
    ]
    assert buf.released_early == 2


def test_a_silent_source_is_taken_for_stalled_and_what_passes_it_counts_as_early() -> None:
    buf = started(stall_s=30.0)
    add(buf, "player-events:0", "m1", [5], 0.0, clock=5, caught_up=False)
    add(buf, "cdn-logs:0", "m2", [10, 20], 0.0, clock=20, caught_up=True)
    assert names(buf.release(10.0)) == ["player-events:0@5"]
    add(buf, "cdn-logs:0", "m3", [25], 40.0, clock=25, caught_up=True)
    assert names(buf.release(40.0)) == ["cdn-logs:0@10", "cdn-logs:0@20", "cdn-logs:0@25"]
    assert buf.released_early == 3


def test_releasing_everything_on_purpose_is_not_early() -> None:
    buf = started()
    add(buf, "player-events:0", "m1", [5], 0.0, clock=5, caught_up=False)
    add(buf, "cdn-logs:0", "m2", [10], 0.0, clock=10, caught_up=True)
    assert names(buf.release(0.0, everything=True)) == ["player-events:0@5", "cdn-logs:0@10"]
    assert buf.released_early == 0


def test_nothing_is_released_in_the_start_up_grace_until_every_source_is_heard() -> None:
    buf = ReorderBuffer(grace_s=10.0, expected=2)
    add(buf, "cdn-logs:0", "m1", [10], 0.0, clock=10, caught_up=True)
    assert buf.release(1.0) == []
    add(buf, "player-events:0", "m2", [5], 2.0, clock=5, caught_up=True)
    assert names(buf.release(2.0)) == ["player-events:0@5", "cdn-logs:0@10"]
