"""Final actions must not hinge on how topics interleave (Kafka mixes them differently from a
file), and the core must be the same whether driven by ``step()`` or by ``Detector``."""

from __future__ import annotations

from detect_builders import HEADLESS_UA, PYTHON_JA4, T0, Viewer, merge

from engine.detect import Detector, Policy, step
from engine.detect.state import decode_channel_state, decode_session_state, encode_state


def population() -> list[Viewer]:
    viewers = []
    for i in range(12):
        viewers.append(Viewer(f"h-{i}", start=T0 + i * 9.0, duration=400.0, ip=f"73.{i}.1.1"))
    viewers += [
        Viewer("h-pause", pauses=[(100.0, 150.0)], duration=500.0),
        Viewer("h-bg", visible=False, muted=True, duration=500.0, chat_every=50.0),
        Viewer("b-poll", segments=False, telemetry=False, duration=300.0),
        Viewer("b-tel", segments=False, playlists=False, duration=300.0),
        Viewer("b-head", ua=HEADLESS_UA, duration=300.0),
        Viewer("b-partial", read_fraction=0.1, duration=300.0),
        Viewer("b-medium", ja4=PYTHON_JA4, playhead_rate=0.0, duration=300.0),
        Viewer("b-sparse", fetch_every=4, duration=300.0, challenges=[(120.0, False)]),
    ]
    return viewers


def finals(events) -> dict[str, str]:
    detector = Detector(Policy())
    out = {}
    for event in events:
        decision = detector.process(event)
        if decision is not None:
            out[decision.session_id] = decision.action
    return out


def skewed(events, lag: dict[str, float]):
    """Each topic delayed by its own lag; order within a topic is kept, as Kafka keeps it."""
    return sorted(events, key=lambda e: e.ts + lag.get(e.TOPIC, 0.0))


def chunked(events, window: float):
    """Whole windows of one topic at a time: how a consumer drains one fetch before the next."""
    order = {"cdn-logs": 0, "player-events": 1, "chat-events": 2, "challenge-results": 3}
    return sorted(events, key=lambda e: (int(e.ts // window), order[e.TOPIC]))


def test_final_actions_survive_topic_skew() -> None:
    events = merge(*population())
    reference = finals(events)
    assert reference["b-poll"] != "count" and reference["h-0"] == "count"
    for lag in (
        {"player-events": 8.0},
        {"cdn-logs": 8.0},
        {"player-events": 25.0, "chat-events": 40.0, "challenge-results": 5.0},
    ):
        assert finals(skewed(events, lag)) == reference, lag
    for window in (5.0, 30.0):
        assert finals(chunked(events, window)) == reference, window


def test_step_with_serialised_state_matches_the_detector() -> None:
    # The Faust runtime keeps states in tables (serialised) and calls step(); same decisions.
    events = merge(*population())
    detector = Detector(Policy())
    expected = [d for d in map(detector.process, events) if d is not None]
    sessions: dict[str, bytes] = {}
    channels: dict[str, bytes] = {}
    got = []
    policy = Policy()
    for event in events:
        raw_s = sessions.get(event.session_id)
        raw_c = channels.get(event.channel_id)
        result = step(
            decode_session_state(raw_s) if raw_s else None,
            decode_channel_state(raw_c) if raw_c else None,
            event,
            policy,
        )
        sessions[event.session_id] = encode_state(result.session)
        channels[event.channel_id] = encode_state(result.channel)
        if result.decision is not None:
            got.append(result.decision)
    assert got == expected
