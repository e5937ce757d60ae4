"""Rules 2026.11.10: ``first_beat_cohort`` reads first heartbeats up to 15 ms from a whole second
(before: 50 ms). Throttled timers wake on the second plus a few milliseconds, and a collector
stamping whole seconds puts beats exactly on it; the 50 ms margin left a tenth of all timer
phases unread, and a swarm wave whose grid fell there by chance went uncounted (seed 803's
last wave: 17 sessions leaving 40-46 s after joining, one heartbeat each). Built by hand: such
a wave, and the people whose first beats can land together or near a whole second (a raid
redirected at one instant, preview hovers, an audience leaving when the stream ends, people who
never chat, hidden tabs, a collector with one-second timestamps)."""

from __future__ import annotations

from detect_builders import T0, Viewer, assert_counted, finals, one_per_network, raid

from engine.detect.channel import register_first_beat
from engine.detect.state import new_channel, new_session

CODE = "first_beat_cohort"
AT = T0 + 400.0  # a whole second


def audience(n: int = 30) -> list[Viewer]:
    return [
        Viewer(f"aud-{i}", start=T0 + i * 9.0, duration=900.0, ip=f"24.{i}.1.1", asn=7000 + i)
        for i in range(n)
    ]


def wave(n: int, phase: float, *, visible: bool = True, duration: float = 45.0) -> list[Viewer]:
    # One operator's last wave: residential exits of different ISPs arriving 1.5 s apart, every
    # player beating on the operator's grid, `phase` s after a whole second; it leaves after
    # `duration` s, before a second heartbeat could show a timer grid.
    return [
        Viewer(
            f"bot-{i}",
            start=AT + 2.0 + i * 1.5,
            duration=duration,
            ip=f"{60 + i}.20.30.{40 + i}",
            asn=20000 + i,
            heartbeat_s=30.0,
            heartbeat_grid=(AT % 30.0) + phase,
            visible=visible,
            muted=True,
        )
        for i in range(n)
    ]


def test_wave_whose_grid_sits_near_a_whole_second_is_caught() -> None:
    # 30 ms before and 30 ms after a whole second: left unread by the 50 ms margin until now.
    for phase in (0.97, 1.03):
        bots = wave(8, phase)
        final = finals(audience(), bots)
        for v in bots:
            d = final[v.session_id]
            assert CODE in d.reasons, (phase, d.features)
            assert d.features["first_beat_peers"] >= 4
            assert d.action != "count"
        assert all(final[f"aud-{i}"].action == "count" for i in range(30))


def test_first_beat_margin_around_a_whole_second() -> None:
    c = new_channel("ch", T0)
    for i, (ts, read) in enumerate(
        (
            (T0 + 30.0, False),  # a collector stamping whole seconds
            (T0 + 31.004, False),  # a throttled timer waking on the second
            (T0 + 31.995, False),
            (T0 + 32.03, True),
            (T0 + 32.96, True),
        )
    ):
        s = new_session(f"s{i}", "ch", T0)
        s.p_start_ts = T0 + 1.0
        register_first_beat(c, s, ts)
        assert (s.beat_bin >= 0) is read, ts


def test_whole_second_timestamps_are_not_read() -> None:
    # A deployment whose collector stamps beats in whole seconds: every first beat lands on the
    # second, so people arriving apart "beat together"; none of them is read.
    bots = wave(8, 1.0)
    final = finals(audience(), bots)
    assert_counted(final, bots, CODE)


def test_hidden_players_near_a_whole_second_are_not_read() -> None:
    bots = wave(8, 0.97, visible=False)
    final = finals(audience(), bots)
    assert not any(CODE in final[v.session_id].reasons for v in bots)


def test_raid_redirected_at_one_instant_near_a_whole_second_is_not_read() -> None:
    # Players started together beat together, here 20-60 ms after a whole second: no spread of
    # arrivals, so not one controller's clock.
    people = raid([AT - 0.8 + 0.02 + i * 0.003 for i in range(12)])
    final = finals(audience(), people)
    assert_counted(final, people, CODE)


def test_preview_hovers_stream_end_and_silent_viewers_are_counted() -> None:
    # Sixty preview hovers of 6-14 s arriving within a minute, a raid of sixty arriving over 30 s
    # that never chats and leaves, with the regular audience, when the stream ends at one instant.
    end = AT + 200.0
    hovers = [
        Viewer(
            f"hover-{i}",
            start=AT + i * 1.0,
            duration=6.0 + (i % 9),
            ip=f"81.{i}.3.3",
            asn=40000 + i,
            muted=True,
        )
        for i in range(60)
    ]
    raid = [
        Viewer(
            f"raid-{i}",
            start=AT + 20.0 + i * 0.5,
            duration=end - (AT + 20.0 + i * 0.5),
            ip=f"98.{i}.2.2",
            asn=30000 + i,
            heartbeat_s=20.0,
        )
        for i in range(60)
    ]
    regulars = one_per_network(40, start=T0, duration=end - T0)
    final = finals(regulars, hovers, raid)
    people = [*regulars, *hovers, *raid]
    for v in people:
        d = final.get(v.session_id)
        assert d is None or d.action == "count", (v.session_id, d and d.reasons)
        assert d is None or CODE not in d.reasons
