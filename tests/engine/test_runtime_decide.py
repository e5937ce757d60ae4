"""The decide agent's logic (DecisionProcessor) against replay's Detector on the same events.

The processor has a fast path for the common case (both states cached, live, new to the event)
and the general path (a state to load from its table, a redelivered message, an idle state to
start afresh); both must fold events exactly as replay does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec

from engine.detect import Detector, Policy
from engine.runtime.decide import (
    BatchOutcome,
    DecisionProcessor,
    decode_channel_record,
    decode_session_record,
)
from engine.runtime.envelope import decode_envelope
from engine.runtime.epochs import is_marker
from engine.schemas import INPUT_TOPICS, decode_event, encode_decision
from engine.simulate import FAMILIES, SimConfig, Simulation

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_decide import envelopes as make_envelopes

CFG = SimConfig(seed=5, channels=3, duration=420.0, viewers=70, attack_share=0.4, families=FAMILIES)


def _events() -> list[tuple[float, str, bytes]]:
    sim = Simulation(CFG, on_label=lambda label: None)
    return [(ts, INPUT_TOPICS[t], value) for ts, t, _, value in sim.events()]


def _envelopes(events: list[tuple[float, str, bytes]]) -> list[bytes]:
    """40 events per envelope, one source partition per topic (as bench_decide builds them)."""
    return make_envelopes(events, 40)


def _merged(events: list[tuple[float, str, bytes]]) -> list[tuple[float, str, bytes]]:
    """The merge's order: event time made monotonic per source, ties by topic, then arrival."""
    running: dict[str, float] = {}
    keyed = []
    for i, (ts, topic, value) in enumerate(events):
        running[topic] = max(ts, running.get(topic, ts))
        keyed.append(((running[topic], INPUT_TOPICS.index(topic), i), (ts, topic, value)))
    keyed.sort(key=lambda item: item[0])
    return [event for _, event in keyed]


def _replay(events: list[tuple[float, str, bytes]]) -> dict[str, bytes]:
    detector = Detector(Policy())
    decisions = {}
    for _, topic, value in _merged(events):
        decision = detector.process(decode_event(topic, value))
        if decision is not None:
            decisions[decision.decision_id] = encode_decision(decision)
    return decisions


def _worker(envelopes: list[bytes], *, redeliver: int, restart_at: int) -> dict:
    """Fold the envelopes through a DecisionProcessor whose flushed states land in dicts (the
    tables). Every ``redeliver``-th envelope arrives twice; at ``restart_at`` a new processor
    takes over from the tables (cold cache) and, as Kafka would, gets every message that was
    not acked (completed) again."""
    sessions: dict[str, bytes] = {}
    channels: dict[str, bytes] = {}
    decisions: dict[str, bytes] = {}
    unacked: dict[object, bytes] = {}
    repeats = 0

    def start() -> DecisionProcessor:
        # no start-up deadline: the merge waits to hear from every source, as after a restart
        processor = DecisionProcessor(sessions.get, channels.get, grace_s=1e9, flush_s=0.0)
        processor.expect_sources(len(INPUT_TOPICS))
        processor.recovered(0)
        return processor

    def collect(out: BatchOutcome) -> None:
        for decision, _ in out.decisions:
            decisions[decision.decision_id] = encode_decision(decision)
        sessions.update(out.sessions)
        channels.update(out.channels)
        for token in out.completed:
            unacked.pop(token, None)

    def apply(token: object, raw: bytes, now: float) -> None:
        unacked.setdefault(token, raw)
        processor.add(0, token, [decode_envelope(raw)], now)
        collect(processor.run(0, Policy(), now))

    processor = start()
    for i, raw in enumerate(envelopes):
        if i == restart_at:
            processor = start()
            for token, again in list(unacked.items()):
                apply(token, again, float(i))
        apply(i, raw, float(i))
        if redeliver and i % redeliver == 0:
            apply(("again", i), raw, float(i))
            repeats += 1
    collect(processor.run(0, Policy(), float(len(envelopes)), everything=True))
    return {
        "decisions": decisions,
        "repeats": repeats,
        "unacked": len(unacked),
        "sessions": {k: _state(decode_session_record(v).state) for k, v in sessions.items()},
        "channels": {
            k: _state(decode_channel_record(v).state)
            for k, v in channels.items()
            if not is_marker(k)
        },
    }


def _state(state: object) -> bytes:
    return msgspec.msgpack.encode(state)


def test_the_decide_path_makes_replays_decisions_byte_for_byte() -> None:
    events = _events()
    expected = _replay(events)
    assert len(expected) > 50  # the stream makes decisions to compare
    got = _worker(_envelopes(events), redeliver=0, restart_at=-1)["decisions"]
    assert got.keys() == expected.keys()
    assert got == expected


def test_redelivered_envelopes_and_a_cold_restart_change_no_decision() -> None:
    events = _events()
    expected = _replay(events)
    envelopes = _envelopes(events)
    plain = _worker(envelopes, redeliver=0, restart_at=-1)
    run = _worker(envelopes, redeliver=7, restart_at=len(envelopes) // 2)
    assert run["repeats"] > 10
    assert run["unacked"] == 0
    assert run["decisions"] == expected
    # and every state ends as if each event had come once
    assert run["sessions"] == plain["sessions"]
    assert run["channels"] == plain["channels"]
    # every decision is whole JSON of a decision (not a partial write)
    assert all(msgspec.json.decode(v)["decision_id"] == k for k, v in run["decisions"].items())
