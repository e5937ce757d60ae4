"""``decide(state, context, policy)``: when a session gets a decision, and what it says.

DESIGN §3: the first decision comes once there is enough evidence (a non-``count`` action after
at least ``EARLY_MIN_S`` of the session, or a block override) or at the latest ``FIRST_DECISION_S``
of event time after the first event; then a new one whenever the action changes, and at least
every ``REFRESH_S`` while the session is active. Scoring is throttled to once per
``EVAL_EVERY_S`` of the session's event time or ``EVAL_EVERY_EVENTS`` events (and on every
challenge result), which keeps the hot path cheap; every input of the score is an aggregate, so the final action does not depend on
which event of a second happened to trigger the last scoring.
"""

from __future__ import annotations

from engine.detect.policy import RULE_VERSION, Policy
from engine.detect.scoring import assess
from engine.detect.state import ChannelState, SessionState
from engine.schemas import Decision, decision_id

FIRST_DECISION_S = 30.0
EARLY_MIN_S = 10.0
REFRESH_S = 60.0
EVAL_EVERY_S = 5.0
EVAL_EVERY_EVENTS = 8  # ... or every 8 events: late events of a lagging topic carry old times


def decide(
    s: SessionState, c: ChannelState | None, policy: Policy, *, force: bool = False
) -> Decision | None:
    now = s.last_ts
    if s.seq:
        # After the first decision: a refresh when one is due, else a new decision when the
        # action changes. Only scoring changes it (and a decision then goes out at once), so an
        # event that is not scored decides nothing: the common case returns early.
        if now - s.last_decision_ts >= REFRESH_S:
            _evaluate(s, c, policy, now, with_features=True)
            return _emit(s, now)
        if not _scoring_due(s, now, force):
            return None
        _evaluate(s, c, policy, now, with_features=False)
        if s.action == s.last_action:
            return None
    else:
        span = now - s.first_ts
        if span < EARLY_MIN_S and not force and not policy.overrides:
            return None
        if span >= FIRST_DECISION_S:
            # A decision goes out whatever the score: score once, with the feature map (the
            # herd of first decisions 30 s into a stream was scored twice per session).
            _evaluate(s, c, policy, now, with_features=True)
            return _emit(s, now)
        if _scoring_due(s, now, force):
            _evaluate(s, c, policy, now, with_features=False)
        action = s.action
        blocked_early = (
            action == "block" and bool(s.reasons) and s.reasons[0].startswith("override_")
        )
        if not (blocked_early or (span >= EARLY_MIN_S and action != "count")):
            return None
    # Score once more with the feature map, so the decision's score, reasons and features all
    # describe the same state (the newest one).
    _evaluate(s, c, policy, now, with_features=True)
    return _emit(s, now)


def _scoring_due(s: SessionState, now: float, force: bool) -> bool:
    return force or now - s.eval_ts >= EVAL_EVERY_S or s.events - s.eval_events >= EVAL_EVERY_EVENTS


def _evaluate(
    s: SessionState, c: ChannelState | None, policy: Policy, now: float, *, with_features: bool
) -> None:
    score, reasons, features = assess(s, c, with_features=with_features)
    action = policy.action_for(score)
    override = policy.override_for(s, s.channel_id, now)
    if override is not None:
        action = "block" if override.verdict == "block" else "count"
        reasons = (f"override_{override.verdict}_{override.scope}", *reasons)
    s.eval_ts = now
    s.eval_events = s.events
    s.score = score
    s.action = action
    s.reasons = reasons
    if features is not None:
        s.features = features


def _emit(s: SessionState, now: float) -> Decision:
    decision = Decision(
        decision_id=decision_id(s.session_id, s.seq),
        ts=now,
        decided_at=now,
        session_id=s.session_id,
        channel_id=s.channel_id,
        score=s.score,
        action=s.action,
        reasons=s.reasons,
        features=s.features,
        rule_version=RULE_VERSION,
    )
    s.seq += 1
    s.last_decision_ts = now
    s.last_action = s.action
    return decision
