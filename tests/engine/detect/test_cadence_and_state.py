"""Decision cadence (DESIGN §3), deterministic ids, and state that expires with inactivity."""

from __future__ import annotations

import itertools

from detect_builders import HEADLESS_UA, T0, Viewer, events, merge

from engine.detect import (
    CHANNEL_IDLE_S,
    SESSION_IDLE_S,
    Detector,
    Policy,
    channel_expired,
    session_expired,
    step,
)
from engine.detect.state import MAX_KEYS, new_channel, new_session
from engine.schemas import decision_id


def decisions_of(viewer: Viewer):
    detector = Detector(Policy())
    return [d for d in map(detector.process, events(viewer)) if d is not None]


def test_human_first_decision_at_30s_then_every_minute() -> None:
    viewer = Viewer("h", duration=400.0)
    out = decisions_of(viewer)
    assert 30.0 <= out[0].ts - viewer.start < 33.0
    assert all(d.action == "count" for d in out)
    gaps = [b.ts - a.ts for a, b in itertools.pairwise(out)]
    assert all(60.0 <= gap < 63.0 for gap in gaps)
    assert len(out) == 1 + int((out[-1].ts - out[0].ts) // 60)


def test_ids_are_deterministic_per_session_sequence() -> None:
    out = decisions_of(Viewer("h", duration=300.0))
    assert [d.decision_id for d in out] == [decision_id("h", n) for n in range(len(out))]
    assert all(d.decided_at == d.ts for d in out)


def test_clear_bot_is_decided_before_30s() -> None:
    viewer = Viewer("b", ua=HEADLESS_UA, duration=120.0)
    first = decisions_of(viewer)[0]
    assert first.action != "count"
    assert 10.0 <= first.ts - viewer.start < 15.0


def test_action_change_emits_at_once() -> None:
    viewer = Viewer("h", duration=300.0, challenges=[(100.0, False), (101.0, False)])
    out = decisions_of(viewer)
    changed = next(d for d in out if d.action != "count")
    assert changed.ts == viewer.start + 100.0 or changed.ts == viewer.start + 101.0
    assert "challenge_failed" in changed.reasons


def test_short_quiet_session_gets_no_decision() -> None:
    assert decisions_of(Viewer("h", duration=9.0)) == []


def test_decision_ts_is_the_newest_event_of_the_session() -> None:
    viewer = Viewer("h", duration=200.0)
    evs = events(viewer)
    detector = Detector(Policy())
    newest = float("-inf")
    for event in evs:
        newest = max(newest, event.ts)
        decision = detector.process(event)
        if decision is not None:
            assert decision.ts == newest


def test_expiry_edges() -> None:
    s = new_session("s", "c", 100.0)
    assert not session_expired(s, 100.0 + SESSION_IDLE_S)
    assert session_expired(s, 100.0 + SESSION_IDLE_S + 0.001)
    c = new_channel("c", 100.0)
    assert not channel_expired(c, 100.0 + CHANNEL_IDLE_S)
    assert channel_expired(c, 100.0 + CHANNEL_IDLE_S + 0.001)


def test_detector_forgets_idle_sessions_and_channels() -> None:
    early = Viewer("early", channel_id="ch-old", duration=60.0)
    late = Viewer("late", channel_id="ch-new", start=T0 + 60.0 + SESSION_IDLE_S + 120.0)
    detector = Detector(Policy())
    for event in events(early):
        detector.process(event)
    assert "early" in detector.sessions and "ch-old" in detector.channels
    for event in events(late):
        detector.process(event)
    assert "early" not in detector.sessions
    assert "ch-old" not in detector.channels
    assert "late" in detector.sessions


def test_memory_follows_active_sessions_not_total() -> None:
    # 120 ten-minute sessions, one starting every 2 minutes over four hours.
    viewers = [Viewer(f"v{i}", start=T0 + i * 120.0, duration=600.0) for i in range(120)]
    detector = Detector(Policy())
    peak = 0
    for event in merge(*viewers):
        detector.process(event)
        peak = max(peak, len(detector.sessions))
    # at most ~5 live + the ones waiting out their idle TTL (+1 sweep period)
    limit = 600.0 / 120.0 + (SESSION_IDLE_S + 60.0) / 120.0 + 2
    assert peak <= limit
    assert len(detector.sessions) <= limit


def test_per_session_lists_are_capped() -> None:
    moves = [(i * 2.0, f"10.{i}.{i}.1", 64500 + i, "US") for i in range(1, 60)]
    viewer = Viewer("hopper", moves=moves, duration=150.0)
    detector = Detector(Policy())
    for event in events(viewer):
        detector.process(event)
    s = detector.sessions["hopper"]
    assert len(s.ips) == MAX_KEYS and len(s.asns) == MAX_KEYS and len(s.nets) <= MAX_KEYS
    assert s.ip_count > MAX_KEYS


def test_step_creates_state_and_leaves_other_sessions_alone() -> None:
    a, b = events(Viewer("a", duration=40.0)), events(Viewer("b", duration=40.0))
    result = step(None, None, a[0], Policy())
    assert result.session.session_id == "a" and result.channel.channel_id == "ch-1"
    assert result.decision is None
    other = step(None, result.channel, b[0], Policy())
    assert other.session.session_id == "b" and other.channel is result.channel
    assert result.session.events == 1
