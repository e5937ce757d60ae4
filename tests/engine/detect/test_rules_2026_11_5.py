"""Rules 2026.11.5: a home line that crosses a border between two requests, an arrival cluster in
a data centre, a heartbeat clock that is written rather than timed, a /24 whose sessions fail
challenges together, and a phase grid that only a raid's chance makes. Each rule on a bot built
by hand, and the people who share the trait it reads."""

from __future__ import annotations

from detect_builders import (
    FIREFOX_JA4,
    FIREFOX_UA,
    IPHONE_UA,
    ROKU_UA,
    SAFARI_JA4,
    T0,
    Viewer,
    final_with_audience,
    stall_at,
    teaching_audience,
)

from engine.detect.channel import register_failure, touch
from engine.detect.signals import context
from engine.detect.signals.base import Facts
from engine.detect.state import decode_channel_state, encode_state, new_channel, new_session


def audience(n: int = 4) -> list[Viewer]:
    return teaching_audience(n, duration=1300.0)


def final_of(*viewers: Viewer, extra=()) -> dict:
    return final_with_audience(*viewers, extra=extra, duration=1300.0)


# --- seamless_network_change across a border ------------------------------------------------------


def hopper(sid: str, **kw) -> Viewer:
    # A residential proxy's exit moves from a US home line to a Mexican one between two requests.
    base = dict(
        ip=f"71.{sum(map(ord, sid)) % 250}.3.4",
        asn=701,
        country="US",
        duration=500.0,
        moves=[(200.0, "187.185.151.197", 8151, "MX")],
    )
    base.update(kw)
    return Viewer(sid, **base)


def test_a_home_line_crossing_a_border_without_a_gap_is_flagged() -> None:
    d = final_of(hopper("hop"))["hop"]
    assert {"seamless_network_change", "country_hopping"} <= set(d.reasons), d.reasons
    assert d.action != "count", (d.score, d.reasons)


def test_people_who_change_country_are_not_read_as_a_seamless_border_change() -> None:
    late_stall = hopper("stalled")
    early_stall = hopper("stalled-first")
    final = final_of(
        hopper("handover", move_gap=4.0),  # a real reconnect: seconds without a request
        hopper("phone", ua=IPHONE_UA, ja4=SAFARI_JA4),  # roaming SIM, connection migration
        hopper("tor", ua=FIREFOX_UA, ja4=FIREFOX_JA4),  # a new Tor circuit exits anywhere
        # switching a VPN server: one side of the change is a hosting network
        hopper("vpn", moves=[(200.0, "3.80.1.2", 16509, "MX")]),
        late_stall,
        early_stall,
        extra=[stall_at(late_stall, 203.0), stall_at(early_stall, 190.0)],
    )
    for sid in ("handover", "phone", "tor", "vpn", "stalled", "stalled-first"):
        d = final[sid]
        assert "seamless_network_change" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


def test_a_stall_far_from_the_change_does_not_excuse_it() -> None:
    v = hopper("hop")
    d = final_of(v, extra=[stall_at(v, 60.0)])["hop"]
    assert "seamless_network_change" in d.reasons, d.reasons
    assert d.action != "count"


# --- arrival_cluster in a hosting network -------------------------------------------------------


def hosted_drip(n: int = 16, every: float = 8.0, **kw) -> list[Viewer]:
    # One scheduler feeding the channel a viewer every ~8 s from rented machines of one cloud,
    # each on its own address, four per /24: otherwise decent viewers.
    out = []
    for i in range(n):
        base = dict(
            ip=f"3.80.{i % 4}.{10 + i}",
            asn=16509,
            start=T0 + i * every + (i % 3) * 0.9,
            duration=600.0,
        )
        base.update(kw)
        out.append(Viewer(f"drip-{i}", **base))
    return out


def test_an_arrival_cluster_in_a_data_centre_is_strong() -> None:
    final = final_of(*hosted_drip())
    for v in hosted_drip()[8:]:
        d = final[v.session_id]
        assert "arrival_cluster" in d.reasons, (v.session_id, d.reasons)
        assert d.action != "count", (v.session_id, d.score, d.reasons)
    assert all(final[v.session_id].action == "count" for v in audience())


def test_vpn_users_arriving_through_shared_exits_are_no_cluster() -> None:
    # A consumer VPN: viewers share a few hosting exit addresses, arriving at a steady beat,
    # on a channel most of whose audience is elsewhere.
    vpn = [
        Viewer(f"vpn-{i}", ip=f"3.80.9.{i % 2}", asn=16509, start=T0 + i * 8.0, duration=600.0)
        for i in range(8)
    ]
    others = [Viewer(f"o-{i}", ip=f"24.{i}.1.1", start=T0 + i * 7.0) for i in range(30)]
    final = final_of(*vpn, *others)
    for v in vpn:
        d = final[v.session_id]
        assert "arrival_cluster" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


# --- browser_timer_exact: a written clock -------------------------------------------------------


def timer(sid: str, **kw) -> Viewer:
    base = dict(heartbeat_s=30.0, heartbeat_jitter=0.0, duration=420.0)
    base.update(kw)
    return Viewer(sid, **base)


def test_heartbeats_equal_to_a_quarter_millisecond_are_written_and_strong() -> None:
    d = final_of(timer("forged"))["forged"]  # 13 gaps of exactly 30 s from a home line
    assert "browser_timer_exact" in d.reasons
    assert d.action != "count", (d.score, d.reasons)


def test_a_written_clock_needs_eight_gaps_and_a_browser() -> None:
    final = final_of(
        timer("short", duration=215.0),  # six gaps: medium only
        timer("tv", ua=ROKU_UA, ja4="", referer="", viewport=(1920, 1080)),  # apps: metronomes
        timer("gecko", ua=FIREFOX_UA, ja4=FIREFOX_JA4),  # clamped clocks
        timer("hidden", visible=False),  # hidden tabs wake on whole seconds
        timer("human", heartbeat_jitter=0.02),  # a page's timer
    )
    assert "browser_timer_exact" in final["short"].reasons
    for sid in ("short", "tv", "gecko", "hidden", "human"):
        assert final[sid].action == "count", (sid, final[sid].score, final[sid].reasons)
    for sid in ("tv", "gecko", "hidden", "human"):
        assert "browser_timer_exact" not in final[sid].reasons, (sid, final[sid].reasons)


# --- challenge_failed_subnet ------------------------------------------------------------------------


def test_sessions_of_one_subnet_failing_challenges_together_are_flagged() -> None:
    bots = [
        Viewer(f"ev-{i}", ip=f"73.40.12.{20 + i}", start=T0 + i * 20.0, challenges=[(60.0, False)])
        for i in range(3)
    ]
    final = final_of(*bots)
    for v in bots:
        d = final[v.session_id]
        assert {"challenge_failed", "challenge_failed_subnet"} <= set(d.reasons), d.reasons
        assert d.action != "count", (d.score, d.reasons)


def test_people_failing_challenges_apart_or_passing_after_are_not_a_failing_subnet() -> None:
    apart = [
        Viewer(f"p-{i}", ip=f"73.{40 + i}.12.20", start=T0 + i * 20.0, challenges=[(60.0, False)])
        for i in range(3)
    ]
    office = [  # one office, two failures, and a third colleague who failed, then passed
        Viewer("o-0", ip="64.10.1.5", challenges=[(60.0, False)]),
        Viewer("o-1", ip="64.10.1.6", challenges=[(80.0, False)]),
        Viewer("o-2", ip="64.10.1.7", challenges=[(90.0, False), (120.0, True)]),
    ]
    final = final_of(*apart, *office)
    for v in (*apart, *office):
        d = final[v.session_id]
        assert "challenge_failed_subnet" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)


# --- heartbeat_lockstep: strong only in a grid chance does not make ------------------------------


def lockstep_evidence(surprise: float, minutes: int) -> dict[str, float]:
    s = new_session("s", "ch", T0)
    s.cdn_n = s.hb_gap_n = 10
    s.lockstep_peers, s.lockstep_surprise, s.lockstep_minutes = 6, surprise, minutes
    f = Facts(span=400.0, cdn_span=400.0, segment_s=2.0, segment_known=True)
    f.hb_cv = 0.0017
    found: dict[str, float] = {}
    context.collect(s, f, lambda item: found.__setitem__(item[1], item[0]))
    return found


def test_a_raid_sized_grid_held_for_minutes_is_medium_and_a_dense_one_strong() -> None:
    # Held-out raid parties: 6 peers at surprise 5.4, held for three minutes by timers that do
    # not drift. Persistence alone no longer makes it strong; density does.
    assert lockstep_evidence(5.4, 3)["heartbeat_lockstep"] == 0.5
    assert lockstep_evidence(9.0, 1)["heartbeat_lockstep"] == 0.75


def test_failures_per_subnet_round_trip_and_expire_with_the_channel_minute() -> None:
    c = new_channel("ch", T0)
    s = new_session("s", "ch", T0)
    s.reg_subnet, s.challenge_failed = "s:73.40.12.0/24", 1
    register_failure(c, s, T0 + 30.0)
    register_failure(c, s, T0 + 40.0)  # once per session
    # [sessions, last failure, sessions whose challenge reported automation] (2026.11.8)
    assert decode_channel_state(encode_state(c)).failures == {
        "s:73.40.12.0/24": [1.0, T0 + 30.0, 0.0]
    }
    s.challenge_passed = 1  # a pass afterwards withdraws the failure
    register_failure(c, s, T0 + 50.0)
    assert c.failures["s:73.40.12.0/24"][0] == 0.0
    touch(c, new_session("late", "ch", T0 + 1000.0), T0 + 1000.0, True)
    assert c.failures == {}  # 15 minutes without a failure there: dropped
