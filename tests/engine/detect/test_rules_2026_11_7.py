"""Rules 2026.11.7: ``first_beat_cohort``. A player starts its heartbeat timer when it starts, so
people who arrive seconds apart send their first heartbeats seconds apart; sessions that arrived
apart but whose first beats land together run on one controller's clock. Built by hand: a swarm
wave too short for a heartbeat grid, and the people whose first beats can coincide (a raid
redirected at one instant, a raid arriving over seconds, hidden tabs)."""

from __future__ import annotations

from detect_builders import T0, Viewer, assert_counted, merge, raid, run

from engine.detect import Detector, Policy
from engine.detect.channel import FIRST_BEAT_KEEP_S, register_first_beat
from engine.detect.state import new_channel, new_session

CODE = "first_beat_cohort"


def audience(n: int = 30) -> list[Viewer]:
    return [
        Viewer(f"aud-{i}", start=T0 + i * 9.0, duration=900.0, ip=f"24.{i}.1.1", asn=7000 + i)
        for i in range(n)
    ]


def wave(n: int, spacing: float, *, visible: bool = True, duration: float = 45.0) -> list[Viewer]:
    # One operator's wave: residential exits of different ISPs, arriving `spacing` s apart, each
    # player beating on the operator's grid (phase 0.37 s after a whole second).
    at = T0 + 400.0
    return [
        Viewer(
            f"bot-{i}",
            start=at + i * spacing,
            duration=duration,
            ip=f"{60 + i}.20.30.{40 + i}",
            asn=20000 + i,
            heartbeat_s=20.0,
            heartbeat_grid=(at % 20.0) + 0.37,
            visible=visible,
        )
        for i in range(n)
    ]


def test_wave_too_short_for_a_grid_is_caught_by_its_first_beats() -> None:
    bots = wave(6, 1.5)  # arrivals 7.5 s apart end to end, first beats within 0.1 s
    final = run(merge(*audience(), *bots))
    for v in bots:
        d = final[v.session_id]
        assert CODE in d.reasons, d.features
        assert "heartbeat_lockstep" not in d.reasons  # too short for a timer grid
        assert d.features["first_beat_peers"] >= 4
        assert d.features["first_beat_spread_s"] >= 0.5
        assert d.action != "count"
    assert all(final[f"aud-{i}"].action == "count" for i in range(30))


def test_four_sessions_are_not_enough() -> None:
    # Four first beats together (three peers) happen by chance in a raid: never read.
    bots = wave(4, 1.5)
    final = run(merge(*audience(), *bots))
    assert not any(CODE in final[v.session_id].reasons for v in bots)


def test_raid_redirected_at_one_instant_is_not_read() -> None:
    # A raid lands everyone within a few hundredths of a second; their players start together,
    # so their own timers beat together: same first beat, but no spread of arrivals.
    at = T0 + 400.0
    people = raid([at + i * 0.02 for i in range(12)])
    final = run(merge(*audience(), *people))
    assert_counted(final, people, CODE)


def test_raid_arriving_over_seconds_is_not_read() -> None:
    at = T0 + 400.0
    raid = [
        Viewer(f"raid-{i}", start=at + i * 0.5, duration=200.0, ip=f"98.{i}.2.2", asn=30000 + i)
        for i in range(60)
    ]
    final = run(merge(*audience(), *raid))
    assert_counted(final, raid, CODE)


def test_hidden_players_are_not_read() -> None:
    # Browsers align a hidden tab's timers, so hidden players may beat together by design.
    bots = wave(6, 1.5, visible=False)
    final = run(merge(*audience(), *bots))
    assert not any(CODE in final[v.session_id].reasons for v in bots)


def test_first_beat_needs_a_start_and_is_read_once() -> None:
    c = new_channel("ch", T0)
    s = new_session("s", "ch", T0)
    register_first_beat(c, s, T0 + 20.3)  # no start seen: the player was already running
    assert s.beat_bin == -2 and not c.beats
    s2 = new_session("s2", "ch", T0)
    s2.p_start_ts = T0 + 1.0
    register_first_beat(c, s2, T0 + 21.37)
    assert s2.beat_bin >= 0 and sum(e[0] for e in c.beats.values()) == 1
    s3 = new_session("s3", "ch", T0)
    s3.p_start_ts = T0 + 1.0
    register_first_beat(c, s3, T0 + 22.01)  # on a whole second: throttled timers land there
    assert s3.beat_bin == -2


def test_first_beats_expire_with_event_time() -> None:
    det = Detector(Policy())
    events = merge(*wave(6, 1.5), *audience(5))
    for e in events:
        if e.ts > T0 + 440.0:
            break
        det.process(e)
    ch = det.channels["ch-1"]
    assert ch.beats and ch.beats_coarse  # the wave's first beats, about T0 + 420
    # only moves event time on (no player: its own first beat must not join the record)
    later = Viewer(
        "late", start=T0 + 440.0 + FIRST_BEAT_KEEP_S + 60.0, duration=30.0, telemetry=False
    )
    for e in merge(later):
        det.process(e)
    assert not ch.beats and not ch.beats_coarse
