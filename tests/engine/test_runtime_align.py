"""Event-time alignment of input partitions while catching up: who is paused, who resumes."""

from __future__ import annotations

from engine.runtime.align import SourceAlignment


def test_a_partition_far_ahead_of_the_slowest_is_paused_and_resumes_once_it_catches_up() -> None:
    align = SourceAlignment(ahead_s=30.0)
    align.observe("cdn-logs:0", 1_000.0, caught_up=False, now=0.0)
    align.observe("chat-events:0", 1_500.0, caught_up=False, now=0.0)
    align.observe("player-events:0", 1_020.0, caught_up=False, now=0.0)
    assert align.update(0.0) == (["chat-events:0"], [])
    assert align.paused == {"chat-events:0"}
    assert align.update(0.5) == ([], [])  # still ahead: stays paused, not paused again
    align.observe("cdn-logs:0", 1_480.0, caught_up=False, now=1.0)
    align.observe("player-events:0", 1_490.0, caught_up=False, now=1.0)
    assert align.update(1.0) == ([], ["chat-events:0"])
    assert align.paused == set()


def test_caught_up_partitions_are_never_paused_and_hold_nobody_back() -> None:
    align = SourceAlignment(ahead_s=30.0)
    align.observe("cdn-logs:0", 100.0, caught_up=True, now=0.0)  # live, its clock is old news
    align.observe("chat-events:0", 5_000.0, caught_up=False, now=0.0)
    align.observe("player-events:0", 9_000.0, caught_up=True, now=0.0)
    assert align.update(0.0) == ([], [])


def test_the_slowest_catching_up_finishing_resumes_everyone() -> None:
    align = SourceAlignment(ahead_s=10.0)
    align.observe("cdn-logs:0", 100.0, caught_up=False, now=0.0)
    align.observe("chat-events:0", 500.0, caught_up=False, now=0.0)
    assert align.update(0.0) == (["chat-events:0"], [])
    align.observe("cdn-logs:0", 200.0, caught_up=True, now=1.0)
    assert align.update(1.0) == ([], ["chat-events:0"])


def test_a_silent_slowest_partition_stops_holding_the_others_after_the_stall_limit() -> None:
    align = SourceAlignment(ahead_s=10.0, stall_s=10.0)
    align.observe("cdn-logs:0", 100.0, caught_up=False, now=0.0)
    align.observe("chat-events:0", 500.0, caught_up=False, now=0.0)
    assert align.update(5.0) == (["chat-events:0"], [])
    # the paused partition is silent because of the pause: that is not a stall
    assert align.update(9.0) == ([], [])
    # the slowest one has not been heard of for more than 10 s (taken elsewhere, broker gone)
    assert align.update(11.0) == ([], ["chat-events:0"])


def test_off_and_reset() -> None:
    off = SourceAlignment(ahead_s=0.0)
    off.observe("cdn-logs:0", 100.0, caught_up=False, now=0.0)
    off.observe("chat-events:0", 500.0, caught_up=False, now=0.0)
    assert not off.enabled
    assert off.update(0.0) == ([], [])
    align = SourceAlignment(ahead_s=10.0)
    align.observe("cdn-logs:0", 100.0, caught_up=False, now=0.0)
    align.observe("chat-events:0", 500.0, caught_up=False, now=0.0)
    align.update(0.0)
    assert align.reset() == ["chat-events:0"]
    assert align.paused == set()
    assert align.update(0.0) == ([], [])  # nothing known any more
