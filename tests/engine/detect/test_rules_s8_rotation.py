"""Wi-Fi hops (2026.11.14): a rotating proxy dressed as a phone, whose exit moves from one home
line to another between two requests, next to the phones whose address changes too: Wi-Fi <->
cellular with connection migration, carrier NAT rebinding, a second Wi-Fi reached with a
reconnect or a stall, a phone on a carrier the mobile list does not know, and a home whose
Wi-Fi is itself a carrier's fixed-wireless line."""

from __future__ import annotations

from detect_builders import (
    IPHONE_UA,
    SAFARI_JA4,
    T0,
    Viewer,
    final_with_audience,
    teaching_audience,
)
from detect_builders import stall_at as builders_stall_at

from engine.detect.clients import MOBILE_ASNS
from engine.detect.signals.wifi_hops import wifi_hops
from engine.detect.state import SessionState
from engine.schemas import PlayerEvent

TMOBILE = 21928  # a listed carrier
VERIZON = 6167


audience = teaching_audience
final_of = final_with_audience


def phone(sid: str, moves, **kw) -> Viewer:
    base = dict(ip="73.1.1.1", asn=7922, ua=IPHONE_UA, ja4=SAFARI_JA4, duration=900.0)
    base.update(kw)
    return Viewer(sid, moves=moves, **base)


def stall_at(v: Viewer, offset: float) -> PlayerEvent:
    return builders_stall_at(v, offset, (390, 844))


def test_carriers_of_the_tests_are_listed() -> None:
    assert TMOBILE in MOBILE_ASNS and VERIZON in MOBILE_ASNS
    assert 7922 not in MOBILE_ASNS and 7018 not in MOBILE_ASNS and 20115 not in MOBILE_ASNS


# ---- the rotating proxy


def rotator(sid: str, **kw) -> Viewer:
    # A geo-targeted pool's phone-dressed session: Comcast -> AT&T broadband -> Charter ->
    # T-Mobile, each exit between two requests five minutes apart, no stall: two moves from one
    # home line to another.
    return phone(
        sid,
        [
            (150.0, "98.10.20.30", 7018, "US"),
            (460.0, "24.50.60.70", 20115, "US"),
            (770.0, "172.56.2.2", TMOBILE, "US"),
        ],
        muted=True,
        **kw,
    )


def test_a_phone_hopping_between_home_lines_twice_is_suppressed() -> None:
    d = final_of(rotator("rot"))["rot"]
    assert "wifi_hop" in d.reasons, (d.reasons, d.features)
    assert "exit_rotation" not in d.reasons, d.reasons  # the same hops are read once
    assert d.action != "count", (d.score, d.reasons)


def test_one_hop_between_home_lines_is_medium() -> None:
    # Cellular -> a home line (with a stall: a handover) -> another home line between two
    # requests: one hop, medium, never alone.
    v = phone(
        "one",
        [(200.0, "73.1.1.1", 7922, "US"), (550.0, "98.10.20.30", 7018, "US")],
        ip="172.56.2.2",
        asn=TMOBILE,
    )
    d = final_of(v, extra=[stall_at(v, 203.0)])["one"]
    assert "wifi_hop" in d.reasons, (d.reasons, d.features)
    assert d.action == "count", (d.score, d.reasons)


# ---- the people


def test_wifi_and_cellular_handovers_are_not_wifi_hops() -> None:
    # With connection migration (no gap): home Wi-Fi -> T-Mobile -> carrier NAT rebinding ->
    # a cafe's Wi-Fi -> T-Mobile again -> home.
    commuter = phone(
        "commuter",
        [
            (150.0, "172.56.2.2", TMOBILE, "US"),
            (300.0, "172.58.9.9", TMOBILE, "US"),
            (500.0, "99.2.2.2", 7018, "US"),
            (850.0, "172.57.3.3", TMOBILE, "US"),
        ],
    )
    final = final_of(commuter)
    d = final["commuter"]
    assert "wifi_hop" not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_a_second_wifi_reached_with_a_reconnect_or_a_stall_is_not_read() -> None:
    gap = rotator("gap", move_gap=5.0)  # each association costs seconds without traffic
    stalled = rotator("stalled")
    final = final_of(
        gap, stalled, extra=[stall_at(stalled, 153.0), stall_at(stalled, 458.0)]
    )  # the first stall reported after its change, the second before it
    for sid in ("gap", "stalled"):
        d = final[sid]
        assert "wifi_hop" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


def test_a_phone_whose_cellular_network_is_unknown_is_not_read() -> None:
    # A converged operator announcing broadband and cellular from one unlisted ASN: home Wi-Fi
    # (Comcast) -> "AT&T" cellular -> office Wi-Fi (Charter), with connection migration.
    unlisted = phone(
        "unlisted", [(200.0, "98.10.20.30", 7018, "US"), (440.0, "24.5.6.7", 20115, "US")]
    )
    # A home on a carrier's fixed-wireless line (T-Mobile Home Internet), the phone's SIM on
    # Verizon: two listed carriers, so which one is the phone's own is not known.
    fixed_wireless = phone(
        "fwa",
        [
            (200.0, "174.200.1.1", VERIZON, "US"),
            (520.0, "98.10.20.30", 7018, "US"),
            (840.0, "24.50.60.70", 20115, "US"),
        ],
        ip="172.59.1.1",
        asn=TMOBILE,
    )
    final = final_of(unlisted, fixed_wireless)
    for sid in ("unlisted", "fwa"):
        d = final[sid]
        assert "wifi_hop" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


def test_hops_a_phone_can_make_without_a_wifi_to_wifi_move() -> None:
    s = SessionState(session_id="x", channel_id="c", first_ts=T0, last_ts=T0)
    s.hop_gaps = [1.8, 1.9]
    s.asns = [7922, TMOBILE, 7018]
    s.ua_mobile = False
    assert wifi_hops(s, 2.0) == (0, 0)  # desktops: ``exit_rotation``
    s.ua_mobile = True
    s.ua_engine = "gecko"  # Tor Browser for Android
    assert wifi_hops(s, 2.0) == (0, 0)
    s.ua_engine = "webkit"
    assert wifi_hops(s, 2.0) == (2, 1)  # the listed carrier is the SIM's or the home's
    s.hop_gaps = [1.8, 99.0]  # a stall came near the second
    assert wifi_hops(s, 2.0) == (1, 1)
    s.hop_gaps = [1.8, 1.9, 1.7]
    s.asn_returns = 1  # back to an operator it used: cellular <-> Wi-Fi, again and again
    assert wifi_hops(s, 2.0) == (0, 0)
    s.asn_returns = 0
    s.asns = [7922, 7018, 20115, 22773]  # no listed carrier: cellular may be any of them
    assert wifi_hops(s, 2.0) == (0, 0)
    s.asns = [7922, TMOBILE, VERIZON, 7018]  # two listed carriers
    assert wifi_hops(s, 2.0) == (0, 0)


def test_three_fresh_hops_without_a_listed_carrier_are_not_read() -> None:
    # As decided in 2026.11.6 (a phone across four US home ISPs stays counted): with no listed
    # carrier, a dual-SIM phone or two unlisted carriers could make the hops.
    v = phone(
        "three",
        [
            (150.0, "98.10.20.30", 7018, "US"),
            (460.0, "24.50.60.70", 20115, "US"),
            (770.0, "68.5.5.5", 22773, "US"),
        ],
        duration=1000.0,
        muted=True,
    )
    d = final_of(v)["three"]
    assert "wifi_hop" not in d.reasons, (d.reasons, d.features)
    assert d.action == "count", (d.score, d.reasons)


def test_phones_hopping_together_make_a_seamless_cohort() -> None:
    # Three phone-dressed exits of one pool: a home line, another home line between two
    # requests, then a carrier. Each alone: the repeated seamless change (medium, 0.6).
    pool = [
        phone(
            f"pool-{i}",
            [
                (200.0 + 7 * i, f"98.10.{i}.30", 7018, "US"),
                (520.0 + 5 * i, f"172.56.{i}.2", TMOBILE, "US"),
            ],
            ip=f"73.{i}.1.1",
        )
        for i in range(3)
    ]
    final = final_of(*pool)
    for v in pool:
        d = final[v.session_id]
        assert "seamless_change_cohort" in d.reasons, (v.session_id, d.reasons)
        assert d.action != "count", (v.session_id, d.score, d.reasons)


def test_commuters_crossing_between_wifi_and_cellular_make_no_cohort() -> None:
    # Three people's phones with connection migration: home Wi-Fi -> T-Mobile -> office Wi-Fi.
    people = [
        phone(
            f"walk-{i}",
            [
                (200.0 + 7 * i, f"172.56.{i}.2", TMOBILE, "US"),
                (520.0 + 5 * i, f"99.2.{i}.2", 7018, "US"),
            ],
            ip=f"73.{i}.1.1",
        )
        for i in range(3)
    ]
    final = final_of(*people)
    for v in people:
        d = final[v.session_id]
        assert "seamless_change_cohort" not in d.reasons, (v.session_id, d.reasons)
        assert "wifi_hop" not in d.reasons, (v.session_id, d.reasons)
        assert d.action == "count", (v.session_id, d.score, d.reasons)
