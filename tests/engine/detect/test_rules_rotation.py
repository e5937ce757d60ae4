"""Exit rotation (2026.11.13, helper A): a player behind a rotating residential proxy, whose exit
hops to another operator between two requests of its fetch rhythm, next to the people whose
address changes too: Wi-Fi <-> cellular handovers (with and without connection migration),
carrier NAT rebinding, dual stack, dual-WAN lines, campus NAT pools, Tor circuits and roaming
phones. Also the two network rules narrowed for phones that only crossed between Wi-Fi and
cellular (``seamless_network_change``, ``session_multi_network``, ``country_hopping``)."""

from __future__ import annotations

from detect_builders import (
    FIREFOX_JA4,
    FIREFOX_UA,
    IPHONE_UA,
    SAFARI_JA4,
    Viewer,
    final_with_audience,
    merge,
    stall_at,
    teaching_audience,
)

from engine.detect import Detector, Policy
from engine.detect.policy import RULE_VERSION


def test_rule_version() -> None:
    assert RULE_VERSION == "2026.11.23.3"


audience = teaching_audience
final_of = final_with_audience


def sticky(sid: str, **kw) -> Viewer:
    # A sticky residential-proxy session: the exit moves to another US home ISP every four
    # minutes, each time between two requests, no stall (held-out "proxy_rotator": 1-10 min).
    base = dict(
        ip=f"71.{sum(map(ord, sid)) % 250}.3.4",
        asn=701,
        duration=800.0,
        muted=True,
        moves=[(200.0, "98.10.20.30", 7922, "US"), (440.0, "24.50.60.70", 20115, "US")],
    )
    base.update(kw)
    return Viewer(sid, **base)


# ---- the rotating proxy


def test_two_seamless_exit_hops_of_a_desktop_suppress() -> None:
    # Before 2026.11.13 two changes read only as the medium repeated seamless change.
    d = final_of(sticky("rot"))["rot"]
    assert "exit_rotation" in d.reasons, (d.reasons, d.features)
    assert d.action != "count", (d.score, d.reasons)
    assert d.features["exit_hops"] >= 2, d.features


def test_hops_across_ip_families_count_once_the_family_was_seen() -> None:
    # IPv4 -> another ISP's IPv6 -> a third ISP's IPv4 -> a fourth ISP's IPv6: each exit new.
    v = sticky(
        "fam",
        moves=[
            (150.0, "2600:4045:9112:767::5", 7922, "US"),
            (330.0, "24.50.60.70", 20115, "US"),
            (510.0, "2a02:8108:1::9", 22773, "US"),
        ],
    )
    d = final_of(v)["fam"]
    assert "exit_rotation" in d.reasons, (d.reasons, d.features)
    assert d.action != "count"


def test_one_hop_is_medium() -> None:
    v = sticky("one", moves=[(300.0, "98.10.20.30", 7922, "US")])
    d = final_of(v)["one"]
    assert d.action == "count", (d.score, d.reasons)


def test_a_gecko_client_hopping_every_few_seconds_is_not_tor() -> None:
    moves = [(100.0 + 20.0 * i, f"{60 + i}.{i}.1.1", 7000 + i, "US") for i in range(5)]
    v = sticky("fx-fast", ua=FIREFOX_UA, ja4=FIREFOX_JA4, moves=moves)
    d = final_of(v)["fx-fast"]
    assert "exit_rotation" in d.reasons, (d.reasons, d.features)
    assert d.action != "count"


# ---- the people


def test_tor_circuits_minutes_apart_are_not_hops() -> None:
    v = sticky("tor", ua=FIREFOX_UA, ja4=FIREFOX_JA4)
    d = final_of(v)["tor"]
    assert "exit_rotation" not in d.reasons, d.reasons
    assert d.action == "count", (d.score, d.reasons)


def test_handovers_with_a_gap_or_a_stall_are_not_hops() -> None:
    gap = sticky("gap", move_gap=5.0)  # each change costs a reconnect
    stalled = sticky("stalled")
    final = final_of(
        gap, stalled, extra=[stall_at(stalled, 203.0), stall_at(stalled, 438.0)]
    )  # the first stall reported after its change, the second before it
    for sid in ("gap", "stalled"):
        d = final[sid]
        assert "exit_rotation" not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


def test_dual_stack_dual_wan_and_nat_pools_are_not_hops() -> None:
    dual = sticky(  # a household alternating between its IPv4 and IPv6 (other ASN for v6)
        "dual",
        moves=[
            (100.0, "2600:4045:9112:767::5", 7922, "US"),
            (250.0, "71.9.3.4", 701, "US"),
            (400.0, "2600:4045:9112:767::77", 7922, "US"),
        ],
        ip="71.9.3.4",
    )
    wan = sticky(  # an office balancing connections over two uplinks: one hop, one return
        "wan",
        ip="71.8.3.4",
        moves=[(100.0, "98.10.20.30", 7922, "US"), (300.0, "71.8.3.4", 701, "US")],
    )
    campus = sticky(  # a campus NAT pool: addresses of one /24, per connection
        "campus",
        ip="128.2.7.10",
        asn=9,
        moves=[(100.0 + 30.0 * i, f"128.2.7.{11 + i % 4}", 9, "US") for i in range(10)],
    )
    isp_nat = sticky(  # an ISP's carrier-grade NAT mapping connections to blocks of its own
        "isp-nat",
        ip="71.7.3.4",
        moves=[(100.0 + 60.0 * i, f"71.{20 + i}.{i}.9", 701, "US") for i in range(5)],
    )
    final = final_of(dual, wan, campus, isp_nat)
    for sid in ("dual", "wan", "campus", "isp-nat"):
        d = final[sid]
        assert "exit_rotation" not in d.reasons or sid == "wan", (sid, d.reasons)  # wan: medium
        assert d.action == "count", (sid, d.score, d.reasons)


def phone(sid: str, moves, **kw) -> Viewer:
    base = dict(ip="73.1.1.1", asn=7922, ua=IPHONE_UA, ja4=SAFARI_JA4, duration=900.0)
    base.update(kw)
    return Viewer(sid, moves=moves, **base)


def test_phones_moving_between_wifi_and_cellular_are_not_read() -> None:
    # With connection migration (no gap): home Wi-Fi -> T-Mobile -> carrier NAT rebinding ->
    # a cafe's Wi-Fi. Before 2026.11.13 the two seamless changes of operator read as the
    # phone form of ``seamless_network_change`` (0.6).
    commuter = phone(
        "commuter",
        [
            (200.0, "172.56.2.2", 21928, "US"),
            (330.0, "172.58.9.9", 21928, "US"),
            (480.0, "99.2.2.2", 7018, "US"),
        ],
    )
    # A carrier NAT rebinding again and again
    rebinding = phone(
        "rebinding",
        [(100.0 + 90.0 * i, f"172.{56 + i}.{i}.2", 21928, "US") for i in range(6)],
        ip="172.55.1.1",
        asn=21928,
    )
    # Home Wi-Fi, cellular, home again, cellular: minutes apart, each with a reconnect
    home_and_away = phone(
        "home-away",
        [
            (150.0, "172.56.2.2", 21928, "US"),
            (300.0, "73.1.1.1", 7922, "US"),
            (420.0, "172.56.7.7", 21928, "US"),
            (600.0, "99.2.2.2", 7018, "US"),
        ],
        move_gap=4.0,
    )
    final = final_of(commuter, rebinding, home_and_away)
    for sid in ("commuter", "rebinding", "home-away"):
        d = final[sid]
        for code in ("exit_rotation", "seamless_network_change", "session_multi_network"):
            assert code not in d.reasons, (sid, d.reasons)
        assert d.action == "count", (sid, d.score, d.reasons)


def test_a_roaming_phone_is_not_a_border_hopper() -> None:
    # A US tourist in Germany: hotel Wi-Fi (DE) -> the phone's own carrier, whose data leaves
    # from home (US) -> the hotel again -> a cafe (DE). Before 2026.11.13: country_hopping.
    v = phone(
        "tourist",
        [
            (150.0, "172.56.2.2", 21928, "US"),
            (400.0, "91.5.5.5", 3320, "DE"),
            (600.0, "172.56.2.9", 21928, "US"),
        ],
        ip="91.5.5.5",
        asn=3320,
        country="DE",
    )
    d = final_of(v)["tourist"]
    assert "country_hopping" not in d.reasons, d.reasons
    assert "exit_rotation" not in d.reasons, d.reasons
    assert d.action == "count"


def test_a_phone_hopping_between_home_networks_stays_medium() -> None:
    # Three fresh networks, no carrier among them: a carrier announcing broadband and cellular
    # from one ASN is not on the mobile list, so a phone's hops never suppress alone.
    v = phone(
        "phone-hops",
        [(200.0, "98.10.20.30", 7018, "US"), (440.0, "24.50.60.70", 20115, "US")],
    )
    d = final_of(v)["phone-hops"]
    assert d.action == "count", (d.score, d.reasons)


def test_hop_state_is_bounded_and_marks_stalls() -> None:
    moves = [(100.0 + 30.0 * i, f"{60 + i}.{i}.1.1", 7000 + i, "US") for i in range(20)]
    v = sticky("b", moves=moves, duration=800.0)
    detector = Detector(Policy())
    for event in sorted([*merge(v), stall_at(v, 101.0)], key=lambda e: e.ts):
        detector.process(event)
    s = detector.sessions["b"]
    assert len(s.hop_gaps) == 8  # capped
    assert s.hop_gaps[0] == 99.0  # the first hop's stall came right after it
    assert all(gap < 3.0 for gap in s.hop_gaps[1:]), s.hop_gaps
