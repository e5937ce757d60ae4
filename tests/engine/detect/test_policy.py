"""Policy: threshold edges, validation, and which override wins."""

from __future__ import annotations

import pytest
from detect_builders import HEADLESS_UA, Viewer, events

from engine.detect import DEFAULT_THRESHOLDS, Detector, Override, Policy, Thresholds
from engine.detect.state import new_session

T = Thresholds(suppress=0.5, challenge=0.7, block=0.9)


@pytest.mark.parametrize(
    ("score", "action"),
    [
        (0.0, "count"),
        (0.4999999, "count"),
        (0.5, "suppress"),
        (0.6999999, "suppress"),
        (0.7, "challenge"),
        (0.8999999, "challenge"),
        (0.9, "block"),
        (1.0, "block"),
    ],
)
def test_threshold_edges_are_inclusive(score: float, action: str) -> None:
    assert Policy(thresholds=T).action_for(score) == action


def test_equal_thresholds_skip_the_middle_actions() -> None:
    policy = Policy(thresholds=Thresholds(suppress=0.6, challenge=0.6, block=0.6))
    assert policy.action_for(0.5999) == "count"
    assert policy.action_for(0.6) == "block"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ((0.6, 0.5, 0.9), "suppress <= challenge <= block"),
        ((0.5, 0.95, 0.9), "suppress <= challenge <= block"),
        ((-0.1, 0.5, 0.9), "suppress must be between 0 and 1"),
        ((0.5, 0.7, 1.5), "block must be between 0 and 1"),
    ],
)
def test_invalid_thresholds_are_refused(values: tuple[float, float, float], message: str) -> None:
    suppress, challenge, block = values
    with pytest.raises(ValueError, match=message):
        Thresholds(suppress=suppress, challenge=challenge, block=block).validate()


def test_defaults_are_valid_and_below_the_runbook_raise() -> None:
    DEFAULT_THRESHOLDS.validate()
    assert DEFAULT_THRESHOLDS.challenge < 0.7 and DEFAULT_THRESHOLDS.block < 0.9


def _ov(
    scope: str, value: str, verdict: str, expires_at: float | None = None, oid: str = ""
) -> Override:
    return Override(
        override_id=oid or f"{scope}-{value}-{verdict}",
        scope=scope,
        value=value,
        verdict=verdict,
        reason="test",
        created_by="tester",
        created_at=0.0,
        expires_at=expires_at,
    )


def _session():
    s = new_session("sess-1", "ch-1", 100.0)
    s.ips = ["10.1.2.3"]
    s.asns = [7922]
    return s


ALL_SCOPES = {
    "session": "sess-1",
    "ip": "10.1.2.3",
    "subnet24": "10.1.2.0/24",
    "asn": "7922",
    "channel": "ch-1",
}


@pytest.mark.parametrize("scope", list(ALL_SCOPES))
def test_each_scope_matches(scope: str) -> None:
    policy = Policy(overrides=(_ov(scope, ALL_SCOPES[scope], "block"),))
    found = policy.override_for(_session(), "ch-1", 150.0)
    assert found is not None and found.scope == scope


@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        ("session", "ip"),
        ("ip", "subnet24"),
        ("subnet24", "asn"),
        ("asn", "channel"),
        ("session", "channel"),
    ],
)
def test_more_specific_scope_wins_whatever_the_verdict(winner: str, loser: str) -> None:
    for win_verdict, lose_verdict in (("allow", "block"), ("block", "allow")):
        overrides = (
            _ov(loser, ALL_SCOPES[loser], lose_verdict),
            _ov(winner, ALL_SCOPES[winner], win_verdict),
        )
        found = Policy(overrides=overrides).override_for(_session(), "ch-1", 150.0)
        assert (found.scope, found.verdict) == (winner, win_verdict)


def test_block_beats_allow_at_equal_specificity() -> None:
    overrides = (
        _ov("ip", "10.1.2.3", "allow", oid="a"),
        _ov("ip", "10.1.2.3", "block", oid="b"),
    )
    assert Policy(overrides=overrides).override_for(_session(), "ch-1", 150.0).verdict == "block"
    assert (
        Policy(overrides=overrides[::-1]).override_for(_session(), "ch-1", 150.0).verdict == "block"
    )


def test_expired_override_is_ignored_by_event_time() -> None:
    policy = Policy(overrides=(_ov("session", "sess-1", "block", expires_at=200.0),))
    assert policy.override_for(_session(), "ch-1", 199.9) is not None
    assert policy.override_for(_session(), "ch-1", 200.0) is None


def test_unrelated_overrides_do_not_match() -> None:
    policy = Policy(
        overrides=(
            _ov("ip", "10.1.2.4", "block"),
            _ov("subnet24", "10.1.3.0/24", "block"),
            _ov("asn", "7018", "block"),
            _ov("channel", "ch-2", "block"),
        )
    )
    assert policy.override_for(_session(), "ch-1", 150.0) is None


def _final(policy: Policy, viewer: Viewer):
    detector = Detector(policy)
    last = None
    for event in events(viewer):
        decision = detector.process(event)
        if decision is not None:
            last = decision
    return last


def test_allow_override_wins_over_a_bot_score() -> None:
    bot = Viewer("bot-1", ua=HEADLESS_UA, segments=False, duration=120)
    assert _final(Policy(), bot).action != "count"
    allowed = _final(Policy(overrides=(_ov("asn", "7922", "allow"),)), bot)
    assert allowed.action == "count"
    assert allowed.reasons[0] == "override_allow_asn"
    assert allowed.score >= 0.5  # the score still says what the rules think


def test_block_override_wins_over_a_human_score_and_acts_early() -> None:
    human = Viewer("human-1", duration=120)
    assert _final(Policy(), human).action == "count"
    detector = Detector(Policy(overrides=(_ov("subnet24", "73.12.34.0/24", "block"),)))
    first = next(d for d in map(detector.process, events(human)) if d is not None)
    assert first.action == "block"
    assert first.reasons[0] == "override_block_subnet24"
    assert first.ts - human.start < 10.0
