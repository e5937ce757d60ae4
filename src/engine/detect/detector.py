"""``step()``: update then decide, for one event; ``Detector``: the same over a whole stream.

The Faust runtime calls :func:`step` with the states it keeps in its tables; ``vbg-engine replay``
uses :class:`Detector`, which keeps them in dicts and calls the very same function.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.detect.cadence import decide
from engine.detect.channel import (
    VOTE_AFTER_STEPS,
    register_failure,
    register_first_beat,
    register_grid,
    register_heights,
    register_network,
    touch,
    vote_segment_duration,
)
from engine.detect.dripbeat import note_flagged
from engine.detect.policy import Policy
from engine.detect.state import ChannelState, SessionState, new_channel, new_session
from engine.detect.update import update_cdn, update_challenge, update_chat, update_player
from engine.schemas import BaseEvent, CdnLog, ChallengeResult, ChatEvent, Decision, PlayerEvent

SESSION_IDLE_S = 900.0  # event-time silence after which a session's state is dropped
CHANNEL_IDLE_S = 900.0
SWEEP_EVERY_S = 60.0


class StepResult(NamedTuple):
    session: SessionState
    channel: ChannelState
    decision: Decision | None


def step(
    session: SessionState | None, channel: ChannelState | None, event: BaseEvent, policy: Policy
) -> StepResult:
    """Fold ``event`` into its session and channel, and return a decision when one is due.

    The states are updated in place and returned (new ones are created when None is given).
    """
    ts = event.ts
    new = session is None
    if session is None:
        session = new_session(event.session_id, event.channel_id, ts)
    if channel is None:
        channel = new_channel(event.channel_id, ts)
    return StepResult(session, channel, _advance(session, channel, event, policy, new))


def advance(
    session: SessionState, channel: ChannelState, event: BaseEvent, policy: Policy
) -> Decision | None:
    """:func:`step` for a session and a channel that both exist already (the common case in
    the decide agent's hot loop: no result tuple, no None checks)."""
    return _advance(session, channel, event, policy, False)


def _advance(
    s: SessionState, c: ChannelState, event: BaseEvent, policy: Policy, new: bool
) -> Decision | None:
    ts = event.ts
    if ts > s.last_ts:
        s.last_ts = ts
    elif ts < s.first_ts:
        s.first_ts = ts
    s.events += 1
    touch(c, s, ts, new)
    cls = type(event)
    force = False
    if cls is CdnLog:
        update_cdn(s, event)
        if not s.reg_ip:
            register_network(c, s, event.client_ip, event.asn)
        if not s.segdur_voted and s.seg_steps >= VOTE_AFTER_STEPS:
            vote_segment_duration(c, s)
        if len(s.seg_heights) > s.heights_shared:
            register_heights(c, s)
    elif cls is PlayerEvent:
        update_player(s, event)
        if not s.grid_fine and s.hb_gap_n >= 2:
            register_grid(c, s, ts)
        if s.beat_bin == -1 and event.type == "heartbeat":
            register_first_beat(c, s, ts)
    elif cls is ChatEvent:
        update_chat(s, event)
    elif cls is ChallengeResult:
        update_challenge(s, event)
        register_failure(c, s, ts)
        force = True
    decision = decide(s, c, policy, force=force)
    if not s.flag_seen and s.action != "count":
        note_flagged(c, s)
    return decision


def session_expired(session: SessionState, now_ts: float) -> bool:
    """True once the session has been silent for ``SESSION_IDLE_S`` of event time."""
    return now_ts - session.last_ts > SESSION_IDLE_S


def channel_expired(channel: ChannelState, now_ts: float) -> bool:
    return now_ts - channel.last_ts > CHANNEL_IDLE_S


class Detector:
    """Sessions and channels in dicts, swept by event time; decisions via :func:`step`'s path."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.sessions: dict[str, SessionState] = {}
        self.channels: dict[str, ChannelState] = {}
        self.now = float("-inf")
        self._next_sweep = float("-inf")

    def process(self, event: BaseEvent) -> Decision | None:
        ts = event.ts
        if ts > self.now:
            self.now = ts
            if ts >= self._next_sweep:
                if self._next_sweep != float("-inf"):
                    self.sweep(ts)
                self._next_sweep = ts + SWEEP_EVERY_S
        session = self.sessions.get(event.session_id)
        new = session is None
        if session is None:
            session = self.sessions[event.session_id] = new_session(
                event.session_id, event.channel_id, ts
            )
        channel = self.channels.get(event.channel_id)
        if channel is None:
            channel = self.channels[event.channel_id] = new_channel(event.channel_id, ts)
        return _advance(session, channel, event, self.policy, new)

    def sweep(self, now_ts: float) -> None:
        """Drop sessions and channels idle for longer than their TTL (event time)."""
        stale = [sid for sid, s in self.sessions.items() if session_expired(s, now_ts)]
        for sid in stale:
            del self.sessions[sid]
        stale = [cid for cid, c in self.channels.items() if channel_expired(c, now_ts)]
        for cid in stale:
            del self.channels[cid]
